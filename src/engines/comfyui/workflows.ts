/**
 * The built-in workflow templates: the smallest graphs that work on a stock ComfyUI with one Stable
 * Diffusion checkpoint. Routes can name one of these or bring their own API-format graph.
 */
import type { Workflow } from "./template.js";

const loader = { class_type: "CheckpointLoaderSimple", inputs: { ckpt_name: "{{checkpoint}}" } };
const positive = { class_type: "CLIPTextEncode", inputs: { text: "{{prompt}}", clip: ["4", 1] } };
const negative = { class_type: "CLIPTextEncode", inputs: { text: "{{negative_prompt}}", clip: ["4", 1] } };
const decode = { class_type: "VAEDecode", inputs: { samples: ["3", 0], vae: ["4", 2] } };
const save = { class_type: "SaveImage", inputs: { filename_prefix: "zekron", images: ["8", 0] } };

function sampler(latent: string, denoise: number | string) {
  return {
    class_type: "KSampler",
    inputs: {
      seed: "{{seed}}",
      steps: "{{steps}}",
      cfg: "{{cfg}}",
      sampler_name: "{{sampler}}",
      scheduler: "{{scheduler}}",
      denoise,
      model: ["4", 0],
      positive: ["6", 0],
      negative: ["7", 0],
      latent_image: [latent, 0],
    },
  };
}

export const WORKFLOWS: Record<string, Workflow> = {
  txt2img: {
    "4": loader,
    "5": {
      class_type: "EmptyLatentImage",
      inputs: { width: "{{width}}", height: "{{height}}", batch_size: 1 },
    },
    "6": positive,
    "7": negative,
    "3": sampler("5", 1),
    "8": decode,
    "9": save,
  },
  img2img: {
    "4": loader,
    "10": { class_type: "LoadImage", inputs: { image: "{{image}}" } },
    "11": { class_type: "VAEEncode", inputs: { pixels: ["10", 0], vae: ["4", 2] } },
    "6": positive,
    "7": negative,
    "3": sampler("11", "{{denoise}}"),
    "8": decode,
    "9": save,
  },
  // ImageBlend scales the second image to the first one's size, so the two sources may differ in size.
  "img2img-2": {
    "4": loader,
    "10": { class_type: "LoadImage", inputs: { image: "{{image}}" } },
    "12": { class_type: "LoadImage", inputs: { image: "{{image2}}" } },
    "13": {
      class_type: "ImageBlend",
      inputs: { image1: ["10", 0], image2: ["12", 0], blend_factor: 0.5, blend_mode: "normal" },
    },
    "11": { class_type: "VAEEncode", inputs: { pixels: ["13", 0], vae: ["4", 2] } },
    "6": positive,
    "7": negative,
    "3": sampler("11", "{{denoise}}"),
    "8": decode,
    "9": save,
  },
};

export const DEFAULTS = {
  checkpoint: "model.safetensors",
  steps: 20,
  cfg: 7,
  sampler: "euler",
  scheduler: "normal",
  /** For edits; text-to-image starts from an empty latent and always uses 1. */
  denoise: 0.75,
};
