import sharp, { type Metadata } from "sharp";
import { ApiError } from "../errors.js";
import type { OutputFormat, SourceImage } from "../engines/types.js";

/** Decoded bytes per source image; the text is checked against it before any decoding. */
export const MAX_IMAGE_BYTES = 10 * 1024 * 1024;

const DATA_URL = /^data:image\/[a-z0-9.+-]+;base64,/i;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Canonical standard base64 only (no whitespace, no URL alphabet, padding bits zero). */
export function decodeBase64(text: string, field: string): Buffer {
  const body = text.replace(DATA_URL, "");
  if (body.length * 0.75 > MAX_IMAGE_BYTES + 3) {
    throw new ApiError("payload_too_large", `${field} is over ${MAX_IMAGE_BYTES / 1024 / 1024} MiB`);
  }
  if (body.length === 0 || body.length % 4 !== 0 || !BASE64.test(body)) {
    throw new ApiError("invalid_base64", `${field} is not valid base64`);
  }
  const bytes = Buffer.from(body, "base64");
  if (bytes.toString("base64") !== body)
    throw new ApiError("invalid_base64", `${field} is not canonical base64`);
  return bytes;
}

/** The format the bytes say they are, whatever the client claimed. */
export function sniffFormat(b: Buffer): OutputFormat | null {
  if (b.length >= 8 && b.readUInt32BE(0) === 0x89504e47 && b.readUInt32BE(4) === 0x0d0a1a0a) return "png";
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "jpeg";
  if (b.length >= 12 && b.toString("latin1", 0, 4) === "RIFF" && b.toString("latin1", 8, 12) === "WEBP")
    return "webp";
  return null;
}

/**
 * Turns untrusted bytes into a SourceImage: format sniffed (PNG, JPEG, WebP only), dimensions read from
 * the header and refused above `maxPixels` before anything is decoded, then one strict decode that
 * re-encodes the pixels, which drops metadata and applies the EXIF orientation.
 */
export async function acceptImage(bytes: Buffer, field: string, maxPixels: number): Promise<SourceImage> {
  const format = sniffFormat(bytes);
  if (!format) throw new ApiError("invalid_image", `${field} is not a PNG, JPEG or WebP image`);
  let meta: Metadata;
  try {
    // Header only: nothing is decoded here, so the dimensions can be checked against our own limit.
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch {
    throw new ApiError("invalid_image", `${field} cannot be read as ${format.toUpperCase()}`);
  }
  const { width, height } = meta;
  if (!width || !height) throw new ApiError("invalid_image", `${field} has no dimensions`);
  if (width * height > maxPixels) {
    throw new ApiError(
      "invalid_image",
      `${field} is ${width}x${height}, over the limit of ${(maxPixels / 1e6).toFixed(0)} megapixels`,
    );
  }
  try {
    const pipeline = sharp(bytes, { limitInputPixels: maxPixels, failOn: "warning" }).rotate();
    const encoded =
      format === "png"
        ? pipeline.png({ compressionLevel: 1 })
        : format === "jpeg"
          ? pipeline.jpeg({ quality: 95 })
          : pipeline.webp({ quality: 95 });
    const { data, info } = await encoded.toBuffer({ resolveWithObject: true });
    return { bytes: data, format, width: info.width, height: info.height };
  } catch {
    throw new ApiError("invalid_image", `${field} is damaged or truncated`);
  }
}
