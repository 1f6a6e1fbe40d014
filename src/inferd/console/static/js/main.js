// The console's root: sign-in state, the screen shown, toasts, the confirmation dialog, the live feed; and the
// registration of every screen's component with Alpine (its CSP build: no eval, so components live here).

import { del, get, onSignedOut, setSession } from "./api.js";
import { can, setPrivileges, whyNot } from "./actions.js";
import * as format from "./format.js";
import * as live from "./live.js";
import * as router from "./router.js";
import * as ui from "./ui.js";
import { signIn } from "./pages/signin.js";
import { modelsPage } from "./pages/models.js";
import { modelPage, newBuildPage } from "./pages/model.js";
import { deployPage } from "./pages/deploy.js";
import { deploymentPage, deploymentsPage } from "./pages/deployment.js";
import { testPage } from "./pages/test.js";
import { nodesPage } from "./pages/nodes.js";

const NAVIGATION = [
  { view: "models", label: "Models", href: "#/models", also: ["model", "deploy", "newBuild", "test"] },
  { view: "deployments", label: "Deployments", href: "#/deployments", also: ["deployment", "update", "redeploy"] },
  { view: "nodes", label: "Nodes", href: "#/nodes", also: [] },
];

function app() {
  return {
    status: "loading", // loading, signin, ready
    signInMessage: "",
    user: null,
    securityEnabled: true,
    liveConnected: false,
    route: router.route(),
    navigation: NAVIGATION,
    toasts: [],
    dialog: { title: "", message: "", rows: [], confirmLabel: "OK", danger: false, resolve: null },
    format,

    init() {
      ui.attach(this);
      window.addEventListener("hashchange", () => this.navigate());
      onSignedOut((reason) => this.signedOut(reason || "Your session has ended: sign in again."));
      this.navigate();
      this.loadSession();
    },

    navigate() {
      this.route = router.update(window.location.hash);
      document.title = `${this.titleOf(this.route)} · inferd`;
    },

    titleOf(route) {
      const name = route.params.modelId || route.params.deploymentId;
      const view = { models: "Models", deployments: "Deployments", nodes: "Nodes", notFound: "Not found" }[route.view];
      return view || `${name} (${route.view})`;
    },

    get pages() {
      return this.status === "ready" ? [this.route] : [];
    },

    isCurrent(item) {
      return item.view === this.route.view || item.also.includes(this.route.view) ? "page" : null;
    },

    async loadSession() {
      try {
        this.started(await get("/_inferd/console/session"));
      } catch (error) {
        this.status = "signin";
        if (error.status !== 401) this.signInMessage = `The server could not be reached: ${error.message}`;
      }
    },

    // The session answer, from sign-in or from a reloaded page.
    started(info) {
      setPrivileges(info.privileges);
      setSession(info.csrf_header, info.session ? info.session.csrf_token : null);
      this.securityEnabled = info.security_enabled;
      this.user = info.user;
      this.signInMessage = "";
      this.status = "ready";
      if (can("live")) {
        live.open({ onSignedOut: () => this.signedOut("Your session has ended: sign in again."),
                    onState: (connected) => { this.liveConnected = connected; } });
      }
    },

    signedOut(message) {
      if (this.status !== "ready") return; // not signed in: nothing ended
      live.close();
      setSession(null, null);
      setPrivileges({});
      this.user = null;
      this.status = "signin";
      this.signInMessage = message;
    },

    async signOut() {
      try {
        await del("/_inferd/console/session");
      } finally {
        this.signedOut("You signed out.");
      }
    },

    get userName() {
      if (!this.user) return this.securityEnabled ? "" : "security disabled";
      return this.user.api_key ? `${this.user.api_key.name} (API key of ${this.user.username})` : this.user.username;
    },

    can(action) {
      return can(action);
    },

    whyNot(action) {
      return whyNot(action);
    },

    // A button that opens a form: it goes there only when the form's action is allowed.
    follow(action, href) {
      if (can(action)) window.location.hash = href;
    },

    toast(message, tone = "") {
      const entry = { id: Math.random(), message, tone };
      this.toasts.push(entry);
      setTimeout(() => { this.toasts = this.toasts.filter((toast) => toast.id !== entry.id); }, 6000);
    },

    // A modal confirmation; resolves true on the confirm button, false on cancel or Escape.
    ask({ title, message = "", rows = [], confirmLabel = "OK", danger = false }) {
      return new Promise((resolve) => {
        this.dialog = { title, message, rows, confirmLabel, danger, resolve };
        this.$refs.dialog.showModal();
      });
    },

    answer(confirmed) {
      const resolve = this.dialog.resolve;
      this.dialog.resolve = null;
      if (this.$refs.dialog.open) this.$refs.dialog.close();
      if (resolve) resolve(confirmed);
    },

    confirmClass() {
      return this.dialog.danger ? "danger" : "primary";
    },
  };
}

document.addEventListener("alpine:init", () => {
  for (const [name, component] of Object.entries({
    app, signIn, modelsPage, modelPage, newBuildPage, deployPage, deploymentPage, deploymentsPage, testPage, nodesPage,
  })) {
    window.Alpine.data(name, component);
  }
});
