import { createDecipheriv } from "node:crypto";
import type { BlobStore } from "./types.js";
import { DecryptWorkers } from "./decrypt-workers.js";
import { SharedBufferPool } from "./shared-pool.js";
import { openSealed, sealedLength, sealTo } from "./open-sealed.js";

/** Sealed in pieces of this size, which reuse the same few pages of the heap (see sealTo). */
const SEAL_STEP = 16 * 1024;

/**
 * Envelope encryption: each object gets its own random AES-256-GCM data key, which is itself sealed with
 * the master key. The object's name is the additional authenticated data, so bytes moved to another
 * name fail to open. The layout is sealTo's (open-sealed.ts).
 */
export function seal(master: Buffer, name: string, plain: Buffer): Buffer {
  const out = Buffer.allocUnsafe(sealedLength(plain.length));
  sealTo(master, name, plain, plain.length, (piece, at) => void piece.copy(out, at));
  return out;
}

export function open(master: Buffer, name: string, sealed: Buffer): Buffer {
  const pieces: Buffer[] = [];
  // One piece: the body decrypted in one call, with no copy to join pieces.
  openSealed(createDecipheriv, master, name, sealed, sealed.length, (p) => pieces.push(p));
  return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
}

/**
 * Plaintext in pooled shared memory: `release` (safe to call more than once) hands it back, after which
 * `bytes` must not be read.
 */
export interface SharedPlaintext {
  bytes: Buffer;
  release(): void;
}

/** A BlobStore view that seals on the way in and opens on the way out. */
export class SealedStore {
  private readonly workers: DecryptWorkers;

  constructor(
    private readonly store: BlobStore,
    private readonly master: Buffer,
    private readonly pool = new SharedBufferPool(),
  ) {
    this.workers = new DecryptWorkers(master);
  }

  /**
   * Seals and stores a new object: in pieces, straight into the store when it takes pieces (local files),
   * so that no buffer of the whole sealed object is made (the store may still gather a large one: see
   * FsBlobStore).
   */
  put(key: string, plain: Buffer): Promise<void> {
    if (!this.store.putPieces) return this.store.put(key, seal(this.master, key, plain));
    return this.store.putPieces(key, sealedLength(plain.length), (write) => {
      sealTo(this.master, key, plain, SEAL_STEP, write);
    });
  }

  async get(key: string): Promise<Buffer | null> {
    const sealed = await this.store.get(key);
    return sealed ? open(this.master, key, sealed) : null;
  }

  /**
   * Opens an object of a known plaintext size for sending (the image route). A worker thread reads and
   * decrypts it into pooled shared memory, so the event loop neither runs the AES nor allocates the image
   * (a store of local files is read by the worker itself; another store's bytes are handed over). The
   * caller sends `bytes` and calls `release` once the response is closed. Null when the object does not
   * exist; an object over the pool's largest size is opened here, as `get` does.
   */
  async openShared(key: string, size: number): Promise<SharedPlaintext | null> {
    // Over the pool's largest class: opened here, into memory of its own, with nothing to hand back.
    const inThread = (bytes: Buffer): SharedPlaintext => ({ bytes, release: () => undefined });
    if (!this.pool.fits(size)) {
      const bytes = await this.get(key);
      return bytes && inThread(bytes);
    }
    let output: Buffer | undefined = this.pool.acquire(size);
    let input: Buffer | undefined;
    try {
      const path = this.store.localPath?.(key);
      let found: boolean;
      if (path !== undefined) {
        found = await this.workers.open({ name: key, path, output });
      } else {
        const sealed = await this.store.get(key);
        if (!sealed) return null;
        if (!this.pool.fits(sealed.length)) return inThread(open(this.master, key, sealed));
        input = this.pool.acquire(sealed.length);
        sealed.copy(input);
        found = await this.workers.open({ name: key, input, output });
      }
      if (!found) return null;
      const bytes = output;
      output = undefined;
      let released = false;
      // Once per opening: a second call must not hand back memory a later opening has taken since.
      const release = () => {
        if (released) return;
        released = true;
        this.pool.release(bytes);
      };
      return { bytes, release };
    } finally {
      if (output) this.pool.release(output);
      if (input) this.pool.release(input);
    }
  }

  /** Ends the decrypt workers. */
  close(): Promise<void> {
    return this.workers.close();
  }

  delete(key: string): Promise<void> {
    return this.store.delete(key);
  }

  ping(): Promise<void> {
    return this.store.ping();
  }
}
