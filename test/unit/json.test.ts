import { describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { Base64Bytes, serializeJson } from "../../src/http/json.js";

describe("serializeJson", () => {
  it("gives what JSON.stringify gives, as text without images and as bytes with them", () => {
    const plain = { a: 1, b: ["x", null], c: 'é "quoted" \u2028' };
    expect(serializeJson(plain)).toBe(JSON.stringify(plain));

    const one = randomBytes(1000);
    const two = randomBytes(777);
    const answer = {
      created: 1,
      prompt: 'a "lake" at dusk, 雪',
      data: [{ b64_json: new Base64Bytes(two) }, { b64_json: new Base64Bytes(one), revised_prompt: "é" }],
    };
    const out = serializeJson(answer);
    expect(Buffer.isBuffer(out)).toBe(true);
    const expected = JSON.stringify({
      created: 1,
      prompt: 'a "lake" at dusk, 雪',
      data: [{ b64_json: two.toString("base64") }, { b64_json: one.toString("base64"), revised_prompt: "é" }],
    });
    expect((out as Buffer).toString("utf8")).toBe(expected);
    expect((out as Buffer).length).toBe(Buffer.byteLength(expected));
    // Plain JSON.stringify of the same answer gives the base64 too.
    expect(JSON.stringify(answer)).toBe(expected);
  });

  it("falls back to plain JSON.stringify when an image's marker went in escaped", () => {
    const inner = { b64_json: new Base64Bytes(randomBytes(30)) };
    // A value whose own toJSON stringifies an image: its marker would land inside a string.
    const odd = { note: { toJSON: () => JSON.stringify(inner) }, image: new Base64Bytes(randomBytes(20)) };
    const out = serializeJson(odd);
    expect(out).toBe(JSON.stringify(odd));
    expect(String(out)).not.toContain("b64-");
  });
});
