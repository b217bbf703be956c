/** Where image bytes live. Implementations store opaque bytes; encryption happens above them. */
export interface BlobStore {
  put(key: string, bytes: Buffer): Promise<void>;
  /** Null when the object does not exist. */
  get(key: string): Promise<Buffer | null>;
  /** Deleting a missing object is not an error. */
  delete(key: string): Promise<void>;
  /** Throws when the store cannot be reached (for /readyz). */
  ping(): Promise<void>;
}
