// How numbers, sizes and times read in the console.

export function bytes(value) {
  if (value === null || value === undefined) return "–";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let size = Number(value);
  let unit = 0;
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024;
    unit += 1;
  }
  return `${size >= 10 || unit === 0 ? Math.round(size) : size.toFixed(1)} ${units[unit]}`;
}

export function time(ms) {
  if (!ms) return "–";
  return new Date(ms).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

export function ago(ms) {
  if (!ms) return "–";
  const seconds = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} days ago`;
}

export function number(value, digits = 1) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  return Number(value).toLocaleString(undefined, { maximumFractionDigits: digits });
}

export function percent(ratio) {
  if (ratio === null || ratio === undefined) return "–";
  return `${(ratio * 100).toFixed(1)}%`;
}

export function milliseconds(value) {
  if (value === null || value === undefined) return "–";
  return value < 10 ? `${value.toFixed(2)} ms` : `${Math.round(value)} ms`;
}

export function short(text, length = 12) {
  if (!text) return "–";
  return text.length > length ? `${text.slice(0, length)}…` : text;
}

// A badge's tone for a state the API reports.
export function tone(state) {
  switch (state) {
    case "started": case "deployed": case "ready": case "succeeded": case "serving": case "fully_allocated":
      return "ok";
    case "starting": case "deploying": case "uploading": case "stopping": case "in_progress": case "incoming":
    case "draining": case "verifying":
      return "busy";
    case "failed": case "interrupted":
      return "bad";
    default:
      return "";
  }
}

export function count(value, noun) {
  return `${value} ${noun}${value === 1 ? "" : "s"}`;
}
