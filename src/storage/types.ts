/**
 * Hands the bytes of a new object to `write`, piece by piece at their offsets (in any order, each byte
 * once), before it returns.
 */
export type Fill = (write: (bytes: Buffer, at: number) => void) => void;

/** Where image bytes live. Implementations store opaque bytes; encryption happens above them. */
export interface BlobStore {
  /**
   * Stores a new object. Keys are fresh (random tokens, job ids) and nothing refers to one until its put
   * has finished (the database row comes after), so a put need not be atomic against readers.
   */
  put(key: string, bytes: Buffer): Promise<void>;
  /**
   * As put, for an object of `size` bytes made in pieces (sealing writes its ciphertext as it goes, with
   * no buffer of the whole object: see sealTo). Optional: without it, the pieces are gathered for put.
   */
  putPieces?(key: string, size: number, fill: Fill): Promise<void>;
  /** Null when the object does not exist. */
  get(key: string): Promise<Buffer | null>;
  /**
   * Where the object lives when it is a local file, so that a worker thread can read it itself (the image
   * route); absent for stores whose objects are not local files.
   */
  localPath?(key: string): string;
  /** Deleting a missing object is not an error. */
  delete(key: string): Promise<void>;
  /** Throws when the store cannot be reached (for /readyz). */
  ping(): Promise<void>;
}
