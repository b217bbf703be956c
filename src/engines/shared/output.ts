import sharp from "sharp";
import { sniffFormat } from "../../domain/uploads.js";
import { EngineError, type EngineRequest, type EngineResult, type OutputFormat } from "../types.js";

/** The default cap on one image answered by a backend, encoded. */
export const MAX_UPSTREAM_IMAGE_BYTES = 50 * 1024 * 1024;

/**
 * Turns an image a backend answered into exactly what the job asked for. The bytes are untrusted: the
 * format is sniffed (PNG, JPEG or WebP only), the pixel count is read from the header and refused above
 * `maxPixels` before anything is decoded, and the one strict decode re-encodes the pixels at the requested
 * size and format, which also drops whatever metadata the backend wrote.
 */
export async function normalizeOutput(
  bytes: Buffer,
  req: Pick<EngineRequest, "width" | "height" | "format">,
  maxPixels: number,
  what: string,
): Promise<EngineResult> {
  const format = sniffFormat(bytes);
  if (!format)
    throw new EngineError(`${what}: the backend answered something that is not a PNG, JPEG or WebP image`);
  let width: number | undefined;
  let height: number | undefined;
  try {
    ({ width, height } = await sharp(bytes, { limitInputPixels: false }).metadata());
  } catch {
    throw new EngineError(`${what}: the backend's image cannot be read`);
  }
  if (!width || !height) throw new EngineError(`${what}: the backend's image has no dimensions`);
  if (width * height > maxPixels) {
    throw new EngineError(`${what}: the backend's image is ${width}x${height}, over the pixel limit`);
  }
  // Re-encoded even when format and size already match: one strict decode makes a damaged image fail
  // here rather than in a client, and drops whatever metadata the backend wrote.
  const resize = width !== req.width || height !== req.height;
  return {
    bytes: await reencode(bytes, req, maxPixels, what, resize),
    format: req.format,
    width: req.width,
    height: req.height,
  };
}

async function reencode(
  bytes: Buffer,
  req: { width: number; height: number; format: OutputFormat },
  maxPixels: number,
  what: string,
  resize: boolean,
): Promise<Buffer> {
  try {
    let p = sharp(bytes, { limitInputPixels: maxPixels, failOn: "error" });
    if (resize) p = p.resize(req.width, req.height, { fit: "cover", position: "centre" });
    const out =
      req.format === "png"
        ? p.png()
        : req.format === "jpeg"
          ? p.jpeg({ quality: 92 })
          : p.webp({ quality: 92 });
    return await out.toBuffer();
  } catch {
    throw new EngineError(`${what}: the backend's image is damaged or truncated`);
  }
}
