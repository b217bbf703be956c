import { createHmac, timingSafeEqual } from "node:crypto";
import type { Kysely } from "kysely";
import { lookupBy, type Db } from "../db/connect.js";
import type { MaybePromise } from "../maybe.js";
import type { Database, ImageRow } from "../db/schema.js";
import type { SealedStore, SharedPlaintext } from "../storage/envelope.js";
import { ApiError } from "../errors.js";
import { apiTime, iso, type Clock } from "../clock.js";
import { newImageToken, secureRandomBytes } from "./ids.js";

export type ImageAccess = { tenantId: string } | { expires: string; signature: string };

/**
 * Generated images: sealed bytes in the blob store, one row per image. An image is reachable by its
 * owner's key, or by a signed URL until that URL's `expires`, and by no one after the image's own expiry.
 */
export class ImageService {
  private readonly db: Kysely<Database>;
  private readonly byToken: (token: string) => MaybePromise<ImageRow | undefined>;

  constructor(
    db: Db,
    private readonly store: SealedStore,
    private readonly signingKey: Buffer,
    private readonly clock: Clock,
    private readonly ttlSeconds: number,
  ) {
    this.db = db.kysely;
    this.byToken = lookupBy(db, (k) => k.selectFrom("images").selectAll().where("token", "=", ""));
  }

  /** Writes the sealed bytes; the caller inserts the returned row in its completion transaction. */
  async put(
    tenantId: string,
    jobId: string,
    bytes: Buffer,
    mime: string,
    width: number,
    height: number,
  ): Promise<ImageRow> {
    const token = newImageToken();
    const blobKey = `images/${tenantId}/${token}`;
    await this.store.put(blobKey, bytes);
    const now = this.clock.now();
    return {
      token,
      tenant_id: tenantId,
      job_id: jobId,
      blob_key: blobKey,
      mime_type: mime,
      bytes: bytes.length,
      // An image never changes under its token, so any value unique to it will do: a random one costs
      // nothing, where hashing the bytes took milliseconds on the event loop for a large image.
      etag: `"${secureRandomBytes(16).toString("base64url")}"`,
      width,
      height,
      created_at: iso(now),
      expires_at: iso(now + this.ttlSeconds * 1000),
      deleted_at: null,
    };
  }

  async discard(row: ImageRow): Promise<void> {
    await this.store.delete(row.blob_key);
  }

  sign(token: string, expiresAtSec: number): string {
    return createHmac("sha256", this.signingKey).update(`${token}.${expiresAtSec}`).digest("base64url");
  }

  signedQuery(token: string, expiresAtSec: number): string {
    return `expires=${expiresAtSec}&signature=${this.sign(token, expiresAtSec)}`;
  }

  /** Resolves a token under the given access, or throws not_found / expired. */
  async find(token: string, access: ImageAccess): Promise<ImageRow> {
    const now = this.clock.now();
    if ("signature" in access) {
      const expires = Number(access.expires);
      const expected = Buffer.from(this.sign(token, expires));
      const given = Buffer.from(access.signature);
      if (
        !/^\d{1,12}$/.test(access.expires) ||
        given.length !== expected.length ||
        !timingSafeEqual(given, expected)
      ) {
        throw new ApiError("not_found", "No image with this token");
      }
      if (expires * 1000 <= now) throw new ApiError("expired", "This signed link has expired");
    }
    const row = await this.byToken(token);
    if (!row || ("tenantId" in access && row.tenant_id !== access.tenantId)) {
      throw new ApiError("not_found", "No image with this token");
    }
    // The sweeper marks an image deleted once it has expired; a purge (DELETE /v1/jobs/{id}) marks it before.
    if (row.deleted_at !== null && Date.parse(row.deleted_at) < Date.parse(row.expires_at)) {
      throw new ApiError("expired", `This image was deleted at ${apiTime(row.deleted_at)}`);
    }
    if (row.deleted_at !== null || Date.parse(row.expires_at) <= now) {
      throw new ApiError("expired", `This image expired at ${apiTime(row.expires_at)}`);
    }
    return row;
  }

  /** The bytes of a found image, as a Buffer of their own. */
  async open(token: string, access: ImageAccess): Promise<{ row: ImageRow; bytes: Buffer }> {
    const row = await this.find(token, access);
    const bytes = await this.store.get(row.blob_key);
    if (!bytes) throw new ApiError("expired", "This image is no longer stored");
    return { row, bytes };
  }

  /** The bytes of a found image for sending, in pooled memory (see SealedStore.openShared). */
  async openShared(row: ImageRow): Promise<SharedPlaintext> {
    const plain = await this.store.openShared(row.blob_key, row.bytes);
    if (!plain) throw new ApiError("expired", "This image is no longer stored");
    return plain;
  }

  /** Deletes an image's bytes now (DELETE /v1/jobs/{id} on a finished job); the row stays, as expired. */
  async purge(token: string): Promise<void> {
    const row = await this.db
      .selectFrom("images")
      .select(["blob_key", "deleted_at"])
      .where("token", "=", token)
      .executeTakeFirst();
    if (!row || row.deleted_at !== null) return;
    await this.store.delete(row.blob_key);
    await this.db
      .updateTable("images")
      .set({ deleted_at: iso(this.clock.now()) })
      .where("token", "=", token)
      .execute();
  }

  /** Deletes the bytes of expired images; the rows stay for history. Returns how many were deleted. */
  async sweep(batch = 500): Promise<number> {
    const now = iso(this.clock.now());
    const rows = await this.db
      .selectFrom("images")
      .select(["token", "blob_key"])
      .where("deleted_at", "is", null)
      .where("expires_at", "<=", now)
      .limit(batch)
      .execute();
    for (const r of rows) {
      await this.store.delete(r.blob_key);
      await this.db.updateTable("images").set({ deleted_at: now }).where("token", "=", r.token).execute();
    }
    return rows.length;
  }
}
