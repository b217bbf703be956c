import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import type { BlobStore } from "./types.js";
import { DecryptWorkers } from "./decrypt-workers.js";
import { SharedBufferPool } from "./shared-pool.js";
import { openSealed } from "./open-sealed.js";

const MAGIC = Buffer.from("ZKB1");
const IV = 12;
const KEY = 32;

/**
 * Envelope encryption: each object gets its own random AES-256-GCM data key, which is itself sealed with
 * the master key. The object's name is the additional authenticated data, so bytes moved to another
 * name fail to open. Layout: magic | wrapIV | wrappedKey | wrapTag | dataIV | dataTag | ciphertext.
 */
export function seal(master: Buffer, name: string, plain: Buffer): Buffer {
  const dataKey = randomBytes(KEY);
  const wrapIv = randomBytes(IV);
  const wrap = createCipheriv("aes-256-gcm", master, wrapIv);
  wrap.setAAD(Buffer.from(name));
  const wrappedKey = Buffer.concat([wrap.update(dataKey), wrap.final()]);
  const wrapTag = wrap.getAuthTag();

  const dataIv = randomBytes(IV);
  const cipher = createCipheriv("aes-256-gcm", dataKey, dataIv);
  cipher.setAAD(Buffer.from(name));
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([MAGIC, wrapIv, wrappedKey, wrapTag, dataIv, cipher.getAuthTag(), body]);
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

  put(key: string, plain: Buffer): Promise<void> {
    return this.store.put(key, seal(this.master, key, plain));
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
