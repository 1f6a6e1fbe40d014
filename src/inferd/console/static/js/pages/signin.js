// Sign-in: the credentials go once, in the Authorization header of one request, to open a session; the page keeps
// nothing of them (the fields are emptied whatever the answer).

import { post } from "../api.js";
import { signedIn } from "../ui.js";

function base64(text) {
  return btoa(String.fromCharCode(...new TextEncoder().encode(text)));
}

export function signIn() {
  return {
    method: "api_key",
    apiKey: "",
    username: "",
    password: "",
    busy: false,
    error: "",

    choose(method) {
      this.method = method;
      this.error = "";
    },

    isMethod(method) {
      return this.method === method;
    },

    authorization() {
      if (this.method === "api_key") {
        const key = this.apiKey.trim();
        return `ApiKey ${key.includes(":") ? base64(key) : key}`;
      }
      return `Basic ${base64(`${this.username}:${this.password}`)}`;
    },

    async submit() {
      this.busy = true;
      this.error = "";
      try {
        const info = await post("/_inferd/console/session", undefined, { authorization: this.authorization() });
        signedIn(info);
      } catch (error) {
        this.error = error.status === 401 ? `Sign-in refused: ${error.message}` : error.message;
      } finally {
        this.apiKey = "";
        this.password = "";
        this.busy = false;
      }
    },
  };
}
