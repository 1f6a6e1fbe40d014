// Uploading a model from the browser with Elasticsearch's chunked protocol, as eland does: the definition in
// base64 parts of 1 MiB (eland's size), then the vocabulary. Progress is reported after every part.

import { path, put } from "./api.js";

export const PART_BYTES = 1024 * 1024;

function base64(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).slice(String(reader.result).indexOf(",") + 1));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

export async function readJson(file, what) {
  let text;
  try {
    text = await file.text();
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${what} (${file.name}) is not JSON: ${error.message}`);
  }
}

// PUTs every part of `file` to `partUrl(part)`; `progress({sentBytes, totalBytes, part, totalParts})` after each.
export async function uploadDefinition(file, partTemplate, values, progress) {
  const totalParts = Math.max(1, Math.ceil(file.size / PART_BYTES));
  for (let part = 0; part < totalParts; part += 1) {
    const chunk = file.slice(part * PART_BYTES, Math.min(file.size, (part + 1) * PART_BYTES));
    await put(path(partTemplate, { ...values, part }), {
      definition: await base64(chunk),
      total_definition_length: file.size,
      total_parts: totalParts,
    });
    progress({ sentBytes: Math.min(file.size, (part + 1) * PART_BYTES), totalBytes: file.size, part: part + 1, totalParts });
  }
}
