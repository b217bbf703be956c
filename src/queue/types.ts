export interface JobRef {
  jobId: string;
  tenantId: string;
}

/**
 * Carries job ids to workers. The jobs table stays the source of truth for status and money, so losing a
 * queue entry never loses a job: at start, queued jobs are enqueued again from the table.
 */
export interface JobQueue {
  enqueue(ref: JobRef): Promise<void>;
  start(handler: (ref: JobRef) => Promise<void>): void;
  /** Stops taking work and waits for the jobs in hand. */
  stop(): Promise<void>;
  depth(): number;
  running(): number;
}
