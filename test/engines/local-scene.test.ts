import { describe, expect, it, vi } from "vitest";
import { ANIMALS, parsePrompt } from "../../src/engines/local/prompt.js";
import { planEdit } from "../../src/engines/local/edit-plan.js";
import { drawOverlays } from "../../src/engines/local/overlay.js";
import { animalGroup } from "../../src/engines/local/elements/animals.js";
import { createRng } from "../../src/engines/local/rng.js";
import { composeScene } from "../../src/engines/local/scene.js";
import { beach, shoreY } from "../../src/engines/local/elements/terrain.js";
import { dog, person, robot } from "../../src/engines/local/elements/figures.js";
import type { Point } from "../../src/engines/local/svg.js";

// The drawers as they are, watched: where the scene put the beach and the figures on it.
vi.mock("../../src/engines/local/elements/terrain.js", async (importOriginal) => {
  const original = await importOriginal<typeof import("../../src/engines/local/elements/terrain.js")>();
  return { ...original, beach: vi.fn(original.beach) };
});
vi.mock("../../src/engines/local/elements/animals.js", async (importOriginal) => {
  const original = await importOriginal<typeof import("../../src/engines/local/elements/animals.js")>();
  return { ...original, animalGroup: vi.fn(original.animalGroup) };
});
vi.mock("../../src/engines/local/elements/figures.js", async (importOriginal) => {
  const original = await importOriginal<typeof import("../../src/engines/local/elements/figures.js")>();
  return {
    ...original,
    dog: vi.fn(original.dog),
    person: vi.fn(original.person),
    robot: vi.fn(original.robot),
  };
});

describe("scene composition", () => {
  it("stands figures on a beach on the sand, not in the sea", () => {
    const figures = [vi.mocked(dog), vi.mocked(person), vi.mocked(robot)];
    let checked = 0;
    for (const prompt of ["A dog on the beach", "A robot and a person on a tropical beach"]) {
      for (let seed = 1; seed <= 8; seed++) {
        vi.mocked(beach).mockClear();
        for (const f of figures) f.mockClear();
        composeScene(parsePrompt(prompt), createRng(`beach ${seed}`).fork("scene"), 1, 256);
        const shore = vi.mocked(beach).mock.results[0]?.value as Point[] | undefined;
        expect(shore).toBeDefined();
        for (const f of figures) {
          for (const [, x, base] of f.mock.calls) {
            // The sand lies below the shore line: the feet are under it, at that x.
            expect(base).toBeGreaterThan(shoreY(shore!, x));
            checked++;
          }
        }
      }
    }
    expect(checked).toBe(8 + 16);
  });
});

describe("edit overlays", () => {
  it("keeps every figure it adds inside the picture, however many the prompt names", async () => {
    const prompt = `add ${ANIMALS.map((a) => `a ${a}`).join(", ")}, a cat and a dog`;
    const plan = planEdit(prompt, 1);
    expect(plan.overlays).toEqual(expect.arrayContaining([...ANIMALS]));
    const img = { data: Buffer.alloc(300 * 200 * 3, 128), width: 300, height: 200 };
    vi.mocked(animalGroup).mockClear();
    vi.mocked(dog).mockClear();
    await drawOverlays(img, plan.overlays, prompt, createRng("overlays"));
    const W = (1000 * 300) / 200;
    const xs = [
      ...vi.mocked(animalGroup).mock.calls.map((c) => c[2]),
      ...vi.mocked(dog).mock.calls.map((c) => c[1]),
    ];
    expect(xs).toHaveLength(ANIMALS.length + 1);
    for (const x of xs) {
      expect(x).toBeGreaterThan(W * 0.05);
      expect(x).toBeLessThan(W * 0.95);
    }
  });
});
