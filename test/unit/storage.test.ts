import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { FsBlobStore } from "../../src/storage/fs.js";
import { open, seal, SealedStore } from "../../src/storage/envelope.js";
import { sealedLength } from "../../src/storage/open-sealed.js";
import { SharedBufferPool } from "../../src/storage/shared-pool.js";
import { DecryptWorkers } from "../../src/storage/decrypt-workers.js";
import type { BlobStore } from "../../src/storage/types.js";
import { tempDir } from "../helpers/db.js";

describe("SharedBufferPool", () => {
  it("reuses a released buffer, and ignores a second release of it", () => {
    const pool = new SharedBufferPool();
    const a = pool.acquire(100_000);
    expect(a.length).toBe(100_000);
    expect(a.buffer).toBeInstanceOf(SharedArrayBuffer);
    pool.release(a);
    pool.release(a); // a bug elsewhere must not put it in the pool twice
    const b = pool.acquire(90_000);
    const c = pool.acquire(90_000);
    expect(b.buffer).toBe(a.buffer);
    expect(c.buffer).not.toBe(b.buffer);
  });

  it("keeps no more idle bytes than its limit, and refuses sizes over its largest class", () => {
    const pool = new SharedBufferPool(256 * 1024, 64 * 1024, 1024 * 1024);
    const bufs = [pool.acquire(200_000), pool.acquire(200_000)]; // two of the 256 KiB class
    for (const b of bufs) pool.release(b);
    const again = [pool.acquire(200_000), pool.acquire(200_000)];
    expect(new Set(again.map((b) => b.buffer)).size).toBe(2);
    expect(again.filter((b) => bufs.some((x) => x.buffer === b.buffer))).toHaveLength(1);
    expect(pool.fits(1024 * 1024)).toBe(true);
    expect(pool.fits(1024 * 1024 + 1)).toBe(false);
    expect(() => pool.acquire(1024 * 1024 + 1)).toThrow(RangeError);
  });
});

describe("SealedStore.openShared (decrypt workers)", () => {
  let dir: string;
  let fs: FsBlobStore;
  let store: SealedStore;
  const master = randomBytes(32);
  beforeAll(() => {
    dir = tempDir();
    fs = new FsBlobStore(dir);
    store = new SealedStore(fs, master);
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("gives the plaintext, in shared memory, the same as get", async () => {
    const plain = randomBytes(300_000);
    await store.put("images/t/a", plain);
    const shared = await store.openShared("images/t/a", plain.length);
    expect(shared!.bytes.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(shared!.bytes.equals(plain)).toBe(true);
    expect((await store.get("images/t/a"))!.equals(plain)).toBe(true);
    shared!.release();
    shared!.release();
  });

  it("answers null for a missing object", async () => {
    expect(await store.openShared("images/t/none", 10)).toBeNull();
  });

  it("refuses a flipped bit, another name, another master key and a wrong recorded size", async () => {
    const plain = randomBytes(70_000);
    await store.put("images/t/b", plain);
    const file = fs.localPath("images/t/b");
    const sealed = readFileSync(file);

    await expect(store.openShared("images/t/b", plain.length + 1)).rejects.toThrow(/not 70001|recorded/);
    await expect(store.openShared("images/t/b", plain.length - 1)).rejects.toThrow(
      /larger than its recorded/,
    );

    writeFileSync(fs.localPath("images/t/moved"), sealed);
    await expect(store.openShared("images/t/moved", plain.length)).rejects.toThrow(/decrypt|auth/i);

    const other = new SealedStore(fs, randomBytes(32));
    await expect(other.openShared("images/t/b", plain.length)).rejects.toThrow(/decrypt|auth/i);
    await other.close();

    const flipped = Buffer.from(sealed);
    flipped[flipped.length - 1]! ^= 1;
    writeFileSync(file, flipped);
    await expect(store.openShared("images/t/b", plain.length)).rejects.toThrow(/decrypt|auth/i);
    writeFileSync(
      file,
      Buffer.from("not sealed at all, but long enough to hold a header of 96 bytes.........."),
    );
    await expect(store.openShared("images/t/b", plain.length)).rejects.toThrow(/not a sealed object/);
  });

  it("keeps many concurrent openings of different objects apart, byte for byte", async () => {
    const plains = Array.from({ length: 24 }, (_, i) => randomBytes(50_000 + i * 9_973));
    await Promise.all(plains.map((p, i) => store.put(`images/t/c${i}`, p)));
    for (let round = 0; round < 3; round++) {
      const opened = await Promise.all(
        plains.map((p, i) =>
          store.openShared(
            `images/t/c${(i + round) % plains.length}`,
            plains[(i + round) % plains.length]!.length,
          ),
        ),
      );
      opened.forEach((o, i) => {
        expect(o!.bytes.equals(plains[(i + round) % plains.length]!)).toBe(true);
        o!.release();
      });
    }
  });

  it("hands a store without local files over through shared memory", async () => {
    const remote: BlobStore = {
      put: (k, b) => fs.put(k, b),
      get: (k) => fs.get(k),
      delete: (k) => fs.delete(k),
      ping: () => fs.ping(),
    };
    const s = new SealedStore(remote, master);
    const plain = randomBytes(123_457);
    await s.put("images/t/r", plain);
    const o = await s.openShared("images/t/r", plain.length);
    expect(o!.bytes.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(o!.bytes.equals(plain)).toBe(true);
    expect(await s.openShared("images/t/gone", 5)).toBeNull();
    await s.close();
  });
});

/** A sealed store on a fresh directory for one test, closed and removed after it. */
async function withStore(
  test: (t: { dir: string; fs: FsBlobStore; store: SealedStore; master: Buffer }) => Promise<void>,
  pool?: SharedBufferPool,
): Promise<void> {
  const dir = tempDir();
  const master = randomBytes(32);
  const fs = new FsBlobStore(dir);
  const store = new SealedStore(fs, master, pool);
  try {
    await test({ dir, fs, store, master });
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("SealedStore.put (sealed in pieces into the file)", () => {
  it("writes a new file, owner-only, under a directory it makes, that is not the plaintext and opens back", () =>
    withStore(async ({ dir, store, master }) => {
      const plain = randomBytes(150_000);
      await store.put("images/new-tenant/a", plain);
      const file = path.join(dir, "images/new-tenant/a");
      const onDisk = readFileSync(file);
      expect(onDisk.length).toBe(sealedLength(plain.length));
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(onDisk.includes(plain.subarray(0, 64))).toBe(false);
      expect(open(master, "images/new-tenant/a", onDisk).equals(plain)).toBe(true);
      expect((await store.get("images/new-tenant/a"))!.equals(plain)).toBe(true);
    }));

  it("seals each object with its own data key, the same way in pieces as in one buffer", () =>
    withStore(async ({ dir, store, master }) => {
      const plain = Buffer.alloc(100_000, 7);
      await store.put("images/t/one", plain);
      await store.put("images/t/two", plain);
      const [a, b] = ["one", "two"].map((n) => readFileSync(path.join(dir, "images/t", n)));
      expect(a!.equals(b!)).toBe(false);
      // What seal() gives in one buffer opens the same way, and is as long.
      const whole = seal(master, "images/t/one", plain);
      expect(whole.length).toBe(a!.length);
      expect(open(master, "images/t/one", whole).equals(plain)).toBe(true);
      for (const size of [0, 1, 16 * 1024, 16 * 1024 + 1]) {
        await store.put(`images/t/s${size}`, Buffer.alloc(size, size % 256));
        expect((await store.get(`images/t/s${size}`))!.equals(Buffer.alloc(size, size % 256))).toBe(true);
      }
    }));

  it("rejects when the file cannot be written, and the next put works", () =>
    withStore(async ({ dir, store }) => {
      writeFileSync(path.join(dir, "images"), "a file where a directory should be");
      await expect(store.put("images/t/x", randomBytes(100_000))).rejects.toThrow(/ENOTDIR|EEXIST/);
      rmSync(path.join(dir, "images"));
      await store.put("images/t/x", randomBytes(100_000));
      expect(statSync(path.join(dir, "images/t/x")).size).toBe(sealedLength(100_000));
    }));

  it("a put that fails part way leaves no file behind", () =>
    withStore(async ({ dir, fs }) => {
      const fill = (write: (b: Buffer, at: number) => void) => {
        write(Buffer.alloc(1000, 1), 0);
        throw new Error("ENOSPC: no space left on device, write");
      };
      await expect(fs.putPieces("images/t/half", 2000, fill)).rejects.toThrow(/ENOSPC/);
      expect(existsSync(path.join(dir, "images/t/half"))).toBe(false);
      const big = 2 * 1024 * 1024; // gathered, then written by the thread pool
      await expect(fs.putPieces("images/t/big", big, fill)).rejects.toThrow(/ENOSPC/);
      expect(existsSync(path.join(dir, "images/t/big"))).toBe(false);
    }));
});

describe("SealedStore.openShared over the pool's largest size", () => {
  it("opens in-thread, into ordinary memory, with a release that does nothing", () =>
    withStore(
      async ({ store }) => {
        const plain = randomBytes(200_000);
        await store.put("images/t/x", plain);
        const o = await store.openShared("images/t/x", plain.length);
        expect(o!.bytes.buffer).toBeInstanceOf(ArrayBuffer);
        expect(o!.bytes.equals(plain)).toBe(true);
        o!.release();
        expect(await store.openShared("images/t/none", 200_000)).toBeNull();
      },
      new SharedBufferPool(1 << 20, 64 * 1024, 128 * 1024),
    ));
});

describe("DecryptWorkers", () => {
  it("rejects jobs that are out when it closes, and every job after", () =>
    withStore(async ({ fs, store, master }) => {
      const plain = randomBytes(4 * 1024 * 1024);
      await store.put("images/t/big", plain);
      const workers = new DecryptWorkers(master, 1);
      const output = Buffer.from(new SharedArrayBuffer(plain.length));
      const job = () => workers.open({ name: "images/t/big", path: fs.localPath("images/t/big"), output });
      expect(await job()).toBe(true);
      expect(output.equals(plain)).toBe(true);
      const out = job();
      await workers.close();
      await expect(out).rejects.toThrow(/closed/);
      await expect(job()).rejects.toThrow(/closed/);
    }));

  it("a worker that dies fails only its own jobs, and the next job starts a new one", () =>
    withStore(async ({ fs, store, master }) => {
      const plain = randomBytes(4 * 1024 * 1024);
      await store.put("images/t/big", plain);
      const workers = new DecryptWorkers(master, 1);
      try {
        const output = Buffer.from(new SharedArrayBuffer(plain.length));
        const job = () => workers.open({ name: "images/t/big", path: fs.localPath("images/t/big"), output });
        expect(await job()).toBe(true);
        const slots = (workers as unknown as { slots: ({ worker: Worker } | undefined)[] }).slots;
        const first = slots[0]!.worker;
        const out = job();
        // Killed from outside while the job is out (what a crash in the thread looks like from here). The
        // job fails with the exit, unless its answer beat the kill; either way it settles.
        void first.terminate();
        const settled = await out.then(
          () => "answered",
          (err: Error) => err.message,
        );
        expect(settled).toMatch(/^answered$|exited with code/);
        output.fill(0);
        expect(await job()).toBe(true);
        expect(output.equals(plain)).toBe(true);
        expect(slots[0]!.worker).not.toBe(first);
      } finally {
        await workers.close();
      }
    }));

  it("opens the same bytes as the in-thread reader for every size around the 64 KiB step", () =>
    withStore(async ({ dir, store, master }) => {
      for (const n of [0, 1, 65_535, 65_536, 65_537, 131_072, 200_001]) {
        const plain = randomBytes(n);
        await store.put(`images/t/s${n}`, plain);
        const sealed = readFileSync(path.join(dir, "images/t", `s${n}`));
        expect(open(master, `images/t/s${n}`, sealed).equals(plain)).toBe(true);
        const o = await store.openShared(`images/t/s${n}`, n);
        expect(o!.bytes.equals(plain)).toBe(true);
        o!.release();
      }
    }));
});

describe("FsBlobStore", () => {
  it("writes small objects on the spot and large ones through the thread pool, owner-only, and makes a removed directory again", async () => {
    const dir = tempDir();
    try {
      const fs = new FsBlobStore(dir);
      for (const size of [10, 1024 * 1024, 1024 * 1024 + 1, 3_000_000]) {
        const bytes = randomBytes(size);
        await fs.put(`images/t/f${size}`, bytes);
        expect((await fs.get(`images/t/f${size}`))!.equals(bytes)).toBe(true);
        expect(statSync(fs.localPath(`images/t/f${size}`)).mode & 0o777).toBe(0o600);
        // An operator's clean-up behind the directory cache's back.
        rmSync(path.join(dir, "images/t"), { recursive: true });
        const again = randomBytes(size);
        await fs.put(`images/t/g${size}`, again);
        expect((await fs.get(`images/t/g${size}`))!.equals(again)).toBe(true);
      }
      expect(await fs.get("images/t/none")).toBeNull();
      expect(() => fs.localPath("../etc/passwd")).toThrow(/bad blob key/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
