// Toasts and the confirmation dialog, owned by the root component; pages call them from here.

let root = null;

export function attach(app) {
  root = app;
}

export function toast(message, tone = "") {
  root.toast(message, tone);
}

export function ask(question) {
  return root.ask(question);
}

// Runs `work` (an async function), telling the user how it went; returns its result, or undefined on failure.
export async function act(work, success) {
  try {
    const result = await work();
    if (success) toast(typeof success === "function" ? success(result) : success, "ok");
    return result;
  } catch (error) {
    toast(error.message, "bad");
    return undefined;
  }
}

export function signedIn(info) {
  root.started(info);
}
