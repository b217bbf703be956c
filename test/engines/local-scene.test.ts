import { describe, expect, it, vi } from "vitest";
import { parsePrompt } from "../../src/engines/local/prompt.js";
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
