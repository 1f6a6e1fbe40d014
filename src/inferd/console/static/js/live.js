// The live feed: one EventSource per console, opened once signed in. Samples are kept per deployment for the last
// few minutes (so a chart shows where things came from as soon as its page opens) and handed to whoever listens.

export const KEEP_SAMPLES = 300;

const listeners = new Set();
const histories = new Map();
let source = null;
let latest = null;

function remember(sample) {
  for (const deployment of sample.deployments) {
    let history = histories.get(deployment.deployment_id);
    if (!history) {
      history = [];
      histories.set(deployment.deployment_id, history);
    }
    history.push({ time: sample.time, ...deployment });
    if (history.length > KEEP_SAMPLES) history.splice(0, history.length - KEEP_SAMPLES);
  }
}

export function open({ onSignedOut, onState }) {
  close();
  source = new EventSource("/_inferd/console/live");
  source.addEventListener("open", () => onState(true));
  source.addEventListener("error", () => onState(false));
  source.addEventListener("sample", (event) => {
    latest = JSON.parse(event.data);
    remember(latest);
    for (const listener of listeners) listener(latest);
  });
  source.addEventListener("signed_out", () => {
    close();
    onSignedOut();
  });
}

export function close() {
  if (source) source.close();
  source = null;
  latest = null;
  histories.clear();
}

export function subscribe(listener) {
  listeners.add(listener);
  if (latest) listener(latest);
  return () => listeners.delete(listener);
}

export function history(deploymentId) {
  return histories.get(deploymentId) || [];
}

// What the live feed says of every deployment: when it changes, what a page shows may have changed.
function signature(sample) {
  return sample.deployments
    .map((d) => [d.deployment_id, d.lifecycle, d.state, d.build_number, d.allocations, d.target_allocations,
                 d.rollout ? `${d.rollout.stage}/${d.rollout.outcome}` : ""].join(":"))
    .join("|");
}

// Calls `reload()` whenever a deployment changes (started, stopped, resized, a rollout's stage...); returns the
// function that stops it.
export function onDeploymentsChange(reload) {
  let seen = "";
  return subscribe((sample) => {
    const now = signature(sample);
    if (seen && now !== seen) reload();
    seen = now;
  });
}

// The part every page with server data shares: `loading`/`error`, a first load when it opens and a reload in the
// background whenever a deployment changes (one at a time: a reload already under way is not repeated). The page
// defines `refresh(options)`, which fetches with `options` ({ background }) and fills its fields; a page with more
// live parts overrides `init` and `destroy` and calls `load` itself.
export function reloadingPage() {
  return {
    loading: true,
    error: "",

    init() {
      this.load();
      this.unsubscribe = onDeploymentsChange(() => this.load(true));
    },

    destroy() {
      if (this.unsubscribe) this.unsubscribe();
    },

    // `background`: the live feed prompted it (no activity of the user's).
    async load(background = false) {
      if (background && this.loading) return;
      this.loading = true;
      try {
        await this.refresh({ background });
        this.error = "";
      } catch (error) {
        this.error = error.message;
      } finally {
        this.loading = false;
      }
    },
  };
}
