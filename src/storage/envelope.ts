import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import type { BlobStore } from "./types.js";
import { CryptoWorkers } from "./crypto-workers.js";
import { SharedBufferPool } from "./shared-pool.js";
import { openSealed, sealParts } from "./open-sealed.js";

/**
 * Envelope encryption: each object gets its own random AES-256-GCM data key, which is itself sealed with
 * the master key. The object's name is the additional authenticated data, so bytes moved to another
 * name fail to open. The layout is sealParts' (open-sealed.ts).
 */
export function seal(master: Buffer, name: string, plain: Buffer): Buffer {
  return Buffer.concat(sealParts({ createCipheriv, randomBytes }, master, name, plain));
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
  private readonly workers: CryptoWorkers;

  constructor(
    private readonly store: BlobStore,
    private readonly master: Buffer,
    private readonly pool = new SharedBufferPool(),
  ) {
    this.workers = new CryptoWorkers(master);
  }

  /**
   * Seals and stores a new object. Into a store of local files a worker thread seals and writes it (the
   * plaintext handed over in pooled shared memory), so that the event loop runs neither the AES nor the
   * write and can go on meanwhile (a job's completion transaction: see ImageService.begin); into another
   * store, or past the pool's largest size, it is sealed here.
   */
  /**
   * Whether objects are local files, written on this machine: a put then takes about as long as the
   * database's own writes (see ImageService.begin).
   */
  get local(): boolean {
    return this.store.localPath !== undefined;
  }

  async put(key: string, plain: Buffer): Promise<void> {
    const path = this.store.localPath?.(key);
    if (path === undefined || !this.pool.fits(plain.length)) {
      return this.store.put(key, seal(this.master, key, plain));
    }
    const input = this.pool.acquire(plain.length);
    try {
      plain.copy(input);
      await this.workers.seal({ name: key, path, input });
    } finally {
      this.pool.release(input);
    }
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

  /** Ends the crypto workers. */
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
