import { Worker } from "node:worker_threads";
import { openSealed } from "./open-sealed.js";

/** Opens one sealed object into shared memory: from a local file the worker reads, or from shared memory. */
export type OpenJob = {
  /** The object's name (its additional authenticated data). */
  name: string;
  /** A view over a SharedArrayBuffer, exactly as long as the plaintext must be. */
  output: Buffer;
} & ({ path: string; input?: never } | { input: Buffer; path?: never });

interface Request {
  id: number;
  name: string;
  path?: string;
  input?: SharedArrayBuffer;
  inputOffset: number;
  inputLength: number;
  output: SharedArrayBuffer;
  outputOffset: number;
  outputLength: number;
}

interface Reply {
  id: number;
  /** The file does not exist. */
  missing?: boolean;
  error?: string;
}

/**
 * The worker's whole program, sent as source text (Function.prototype.toString): it refers to nothing
 * outside itself, and gets `require`, the layout's reader and the master key as arguments. The plaintext
 * lands in the output only through `openSealed`'s pieces, and the job succeeds only when the tag checked
 * and the plaintext filled the output exactly; otherwise the caller sends nothing.
 */
function workerMain(req: NodeJS.Require, open: typeof openSealed, master: Buffer): void {
  const { parentPort } = req("node:worker_threads") as typeof import("node:worker_threads");
  const { createDecipheriv } = req("node:crypto") as typeof import("node:crypto");
  const fs = req("node:fs") as typeof import("node:fs");
  const STEP = 64 * 1024;
  // Files are read into one buffer kept between jobs, up to this size.
  const SCRATCH_MAX = 8 * 1024 * 1024;
  let scratch = Buffer.alloc(0);

  const readFile = (path: string): Buffer | null => {
    let fd: number;
    try {
      fd = fs.openSync(path, "r");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw err;
    }
    try {
      const size = fs.fstatSync(fd).size;
      const buf = size <= scratch.length ? scratch : Buffer.allocUnsafeSlow(size);
      if (size <= SCRATCH_MAX) scratch = buf;
      let at = 0;
      while (at < size) {
        const n = fs.readSync(fd, buf, at, size - at, at);
        if (n === 0) break;
        at += n;
      }
      return buf.subarray(0, at);
    } finally {
      fs.closeSync(fd);
    }
  };

  parentPort!.on("message", (m: Request) => {
    try {
      const sealed =
        m.path !== undefined ? readFile(m.path) : Buffer.from(m.input!, m.inputOffset, m.inputLength);
      if (!sealed) {
        parentPort!.postMessage({ id: m.id, missing: true } satisfies Reply);
        return;
      }
      const output = Buffer.from(m.output, m.outputOffset, m.outputLength);
      let at = 0;
      open(createDecipheriv, master, m.name, sealed, STEP, (piece) => {
        if (at + piece.length > output.length) throw new Error("the object is larger than its recorded size");
        at += piece.copy(output, at);
      });
      if (at !== output.length) throw new Error(`the object holds ${at} bytes, not ${output.length}`);
      parentPort!.postMessage({ id: m.id } satisfies Reply);
    } catch (err) {
      parentPort!.postMessage({ id: m.id, error: String(err) } satisfies Reply);
    }
  });
}

// Transpilers that keep function names (tsx, vitest) call a `__name` helper, which the worker must have.
const WORKER_SOURCE = [
  "const __name = (f) => f;",
  `(${workerMain.toString()})(require, ${openSealed.toString()}, ` +
    `Buffer.from(require("node:worker_threads").workerData.master));`,
].join("\n");

interface Slot {
  worker: Worker;
  pending: Map<number, { resolve: (found: boolean) => void; reject: (err: Error) => void }>;
  /**
   * Why the worker is being stopped (close(), a reply that could not be read, an uncaught error). From
   * then on its replies are dropped, and its jobs out fail with this once the thread has stopped, not
   * before: their memory may be handed on as soon as they fail, and the worker could still be writing it.
   */
  stopping?: Error;
}

const CLOSED = "the decrypt workers are closed";
const sharedView = (b: Buffer) => b.buffer instanceof SharedArrayBuffer;

/**
 * A few worker threads that read and decrypt images for the image route, so that the event loop only
 * looks up the row and writes the socket while the file read and the AES run beside it (on another core,
 * when there is one). Workers start on first use, do not keep an idle process alive, and a worker that
 * dies takes only its own jobs with it: the next job starts a new one.
 */
export class DecryptWorkers {
  private readonly slots: (Slot | undefined)[];
  private next = 0;
  private seq = 0;
  private closed = false;

  constructor(
    private readonly master: Buffer,
    size = 2,
  ) {
    this.slots = new Array<Slot | undefined>(Math.max(1, size)).fill(undefined);
  }

  /** Resolves true when the output holds the plaintext, false when the file does not exist. */
  open(job: OpenJob): Promise<boolean> {
    if (this.closed) return Promise.reject(new Error(CLOSED));
    const { output, input } = job;
    if (!sharedView(output) || (input && !sharedView(input))) {
      return Promise.reject(new TypeError("a job's input and output must be views over shared memory"));
    }
    const slot = this.pick();
    const id = ++this.seq;
    const request: Request = {
      id,
      name: job.name,
      path: job.path,
      input: input?.buffer as SharedArrayBuffer | undefined,
      inputOffset: input?.byteOffset ?? 0,
      inputLength: input?.length ?? 0,
      output: output.buffer as SharedArrayBuffer,
      outputOffset: output.byteOffset,
      outputLength: output.length,
    };
    return new Promise<boolean>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      // Referenced while a job is out, so that the process waits for it; unreferenced when idle.
      if (slot.pending.size === 1) slot.worker.ref();
      slot.worker.postMessage(request);
    });
  }

  /** The least busy worker, starting one in an empty slot; ties go round the slots in turn. */
  private pick(): Slot {
    let best: Slot | undefined;
    for (let n = 0; n < this.slots.length; n++) {
      const i = (this.next + n) % this.slots.length;
      const slot = this.slots[i] ?? (this.slots[i] = this.start(i));
      if (!best || slot.pending.size < best.pending.size) best = slot;
      if (best.pending.size === 0) break;
    }
    this.next = (this.next + 1) % this.slots.length;
    return best!;
  }

  private start(i: number): Slot {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { master: this.master } });
    const slot: Slot = { worker, pending: new Map() };
    worker.unref();
    worker.on("message", (m: Reply) => {
      if (slot.stopping) return;
      const p = slot.pending.get(m.id);
      if (!p) return;
      slot.pending.delete(m.id);
      if (slot.pending.size === 0) worker.unref();
      if (m.error !== undefined) p.reject(new Error(`opening a stored image failed: ${m.error}`));
      else p.resolve(!m.missing);
    });
    const stop = (why: Error) => {
      slot.stopping ??= why;
      // The next job starts a new worker in this slot.
      if (this.slots[i] === slot) this.slots[i] = undefined;
    };
    worker.on("error", stop);
    // A reply that cannot be read would leave its job waiting for ever: the worker goes, and its jobs fail.
    worker.on("messageerror", (err) => {
      stop(err);
      void worker.terminate();
    });
    worker.on("exit", (code) => {
      stop(new Error(`a decrypt worker exited with code ${code}`));
      for (const p of slot.pending.values()) p.reject(slot.stopping!);
      slot.pending.clear();
    });
    return slot;
  }

  /** Ends the workers; jobs still out fail as closed, even those whose worker would have answered first. */
  async close(): Promise<void> {
    this.closed = true;
    const running = this.slots.filter((s): s is Slot => s !== undefined);
    this.slots.fill(undefined);
    for (const slot of running) slot.stopping ??= new Error(CLOSED);
    await Promise.all(running.map((s) => s.worker.terminate()));
  }
}
