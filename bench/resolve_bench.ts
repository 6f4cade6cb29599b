/**
 * Hot paths of the plugin system: a cached getCredentials() and resolving a
 * mode name from each source. Run with `deno task bench` or
 * `deno bench -A bench/resolve_bench.ts`.
 */
import { join } from "node:path";
import {
  type Authenticator,
  AuthenticatorRegistry,
  CachingAuthenticator,
  type Credentials,
  getAuthenticator,
  StaticClientConfigStore,
} from "../mod.ts";

class Fixed extends CachingAuthenticator {
  protected fetchCredentials(): Promise<Credentials> {
    return Promise.resolve({
      accessToken: "bench-token",
      expiresAt: Date.now() + 3600_000,
    });
  }
}

const store = new StaticClientConfigStore({
  tokenEndpoint: "https://idp.example.com/token",
  authorizationEndpoint: "https://idp.example.com/auth",
  redirectUri: "http://127.0.0.1:53593/callback",
  clientId: "bench",
});
const fixed: Authenticator = {
  headerKey: "authorization",
  getCredentials: () => Promise.resolve({ accessToken: "t" }),
  refreshCredentials: () => Promise.resolve({ accessToken: "t" }),
};

const registry = new AuthenticatorRegistry();
registry.register("registered", () => fixed);

const dir = Deno.makeTempDirSync({ prefix: "sesame-bench-" });
const configFile = join(dir, "deno.json");
Deno.writeTextFileSync(
  configFile,
  JSON.stringify({ auth: { plugins: { discovered: "./plugin.js" } } }),
);
Deno.writeTextFileSync(
  join(dir, "plugin.js"),
  `export default () => ({ headerKey: "authorization",
    getCredentials: () => Promise.resolve({ accessToken: "t" }),
    refreshCredentials: () => Promise.resolve({ accessToken: "t" }) });`,
);
globalThis.addEventListener("unload", () => {
  Deno.removeSync(dir, { recursive: true });
});

const cached = new Fixed();
await cached.getCredentials();
const map = new Map([["key", { accessToken: "bench-token" }]]);
await getAuthenticator({ authMode: "discovered" }, store, { configFile });

Deno.bench(
  "baseline: Map lookup plus a clock read",
  { group: "cached" },
  () => {
    if (Date.now() > 0) map.get("key");
  },
);

Deno.bench("getCredentials() on a valid cached token", {
  group: "cached",
  baseline: true,
}, async () => {
  await cached.getCredentials();
});

Deno.bench("getAuthenticator() for a built-in name", {
  group: "resolve",
}, async () => {
  await getAuthenticator(
    { authMode: "external_process", command: ["true"] },
    store,
    { registry, configFile: false },
  );
});

Deno.bench("getAuthenticator() for a registered name", {
  group: "resolve",
  baseline: true,
}, async () => {
  await getAuthenticator({ authMode: "registered" }, store, {
    registry,
    configFile: false,
  });
});

Deno.bench("getAuthenticator() for an imported discovered plugin", {
  group: "resolve",
}, async () => {
  await getAuthenticator({ authMode: "discovered" }, store, {
    registry,
    configFile,
  });
});
