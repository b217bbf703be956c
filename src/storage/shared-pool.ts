/**
 * Reusable shared-memory buffers by power-of-two size class, for serving images: a decrypt worker writes
 * the plaintext into one and the socket sends from it (a store without local files also hands the sealed
 * bytes over in one). Nothing of the image is allocated per request on the event loop's heap: a fresh
 * 1 MiB buffer or two per request had V8 marking its whole heap every few dozen requests (the external
 * bytes count towards its old-generation limit), which cut the image route's throughput to a third for
 * as long as the process lived.
 *
 * A buffer is handed back only once nothing reads or writes it any more (its worker job ended, its
 * response closed); its next owner overwrites the part it uses before anyone reads it.
 */
export class SharedBufferPool {
  private readonly free = new Map<number, SharedArrayBuffer[]>();
  private idle = 0;
  /** Buffers handed out and not yet back: a second release of the same one is ignored, never pooled twice. */
  private readonly out = new WeakSet<SharedArrayBuffer>();

  constructor(
    /** Most bytes kept idle across all classes; a buffer handed back past this is left to the GC. */
    private readonly maxIdleBytes = 64 * 1024 * 1024,
    private readonly minClass = 64 * 1024,
    /** The largest class; `fits` is false above it. */
    private readonly maxSize = 32 * 1024 * 1024,
  ) {}

  fits(size: number): boolean {
    return size <= this.maxSize;
  }

  private classOf(size: number): number {
    let c = this.minClass;
    while (c < size) c *= 2;
    return c;
  }

  /** A view of exactly `size` bytes over shared memory, with stale contents: the caller overwrites them. */
  acquire(size: number): Buffer {
    if (!this.fits(size)) throw new RangeError(`${size} bytes is over the pool's ${this.maxSize}`);
    const c = this.classOf(size);
    const sab = this.free.get(c)?.pop();
    if (sab) this.idle -= c;
    const mem = sab ?? new SharedArrayBuffer(c);
    this.out.add(mem);
    return Buffer.from(mem, 0, size);
  }

  /** Hands back a view from `acquire`; neither it nor any view of the same memory may be used afterwards. */
  release(view: Buffer): void {
    const sab = view.buffer;
    if (!(sab instanceof SharedArrayBuffer) || !this.out.has(sab)) return;
    this.out.delete(sab);
    // Only `acquire` puts a buffer in `out`, so its length is one of the classes.
    const c = sab.byteLength;
    if (this.idle + c > this.maxIdleBytes) return;
    let list = this.free.get(c);
    if (!list) this.free.set(c, (list = []));
    list.push(sab);
    this.idle += c;
  }
}
