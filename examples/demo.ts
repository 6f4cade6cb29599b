/**
 * The sesame demo: every built-in auth mode, and a plugin discovered from
 * this repository's deno.json, each getting a token and calling a protected
 * API, with nothing else to start.
 *
 * It boots, on 127.0.0.1:
 * - a real OAuth 2 / OpenID Connect server (`oidc-provider`, from
 *   tests/support/idp.ts),
 * - a fake of Google's token endpoint, for the `gcp_id_token` plugin,
 * - a small Flyte-style platform serving `/config/v1/flyte_client`,
 *   `/.well-known/oauth-authorization-server` and one API route that
 *   verifies the token's signature,
 * then runs each mode through `getAuthenticator` and `createAuthFetch`, and
 * prints one line per step. Tokens are never printed. It exits 0 when every
 * step worked.
 *
 * Run with `deno task demo`.
 *
 * @module
 */
// deno-lint-ignore-file no-console -- the demo's output is its purpose

import { join } from "node:path";
import {
  type AuthContext,
  type AuthEvent,
  createAuthFetch,
  FileCredentialStore,
  getAuthenticator,
  type PlatformConfig,
  RemoteClientConfigStore,
} from "../mod.ts";
import {
  approveDeviceLogin,
  authorizeInBrowser,
} from "../tests/support/browser.ts";
import {
  GOOGLE_ISSUER,
  startFakeGoogle,
} from "../tests/support/fake_google.ts";
import { startIdp } from "../tests/support/idp.ts";
import { startPlatform } from "../tests/support/platform.ts";

const AUDIENCE = "sesame-demo-platform";
const REPO_CONFIG = new URL("../deno.json", import.meta.url);

interface Step {
  title: string;
  config: PlatformConfig;
  context?: Partial<AuthContext>;
}

const started = performance.now();
console.log(
  "sesame demo: starting an authorization server and a platform on 127.0.0.1...",
);

await using idp = await startIdp();
await using google = await startFakeGoogle();
await using platform = await startPlatform({
  discoveryUrl: idp.discoveryUrl,
  clientId: idp.clients.native.clientId,
  redirectUri: idp.redirectUri,
  scopes: ["openid", "offline_access", "api:read"],
  trustedIssuers: [{
    issuer: GOOGLE_ISSUER,
    jwksUri: google.jwksUri,
    audience: AUDIENCE,
  }],
});
const folder = await Deno.makeTempDir({ prefix: "sesame-demo-" });
await using _cleanup = {
  [Symbol.asyncDispose]: () => Deno.remove(folder, { recursive: true }),
};
// The gcp_id_token plugin finds its key the way Google's libraries do.
Deno.env.set("GOOGLE_APPLICATION_CREDENTIALS", google.keyFile);

const credentialStore = new FileCredentialStore({
  directory: join(folder, "credentials"),
});
const { confidential } = idp.clients;
const endpoint = platform.endpoint;

/** A command that prints a client-credentials token as JSON, as a token helper would. */
const tokenCommand = [
  Deno.execPath(),
  "eval",
  `const r = await fetch(${JSON.stringify(idp.tokenEndpoint)}, {
    method: "POST",
    headers: { authorization: "Basic " + btoa(Deno.args[0] + ":" + Deno.args[1]) },
    body: new URLSearchParams({ grant_type: "client_credentials" }),
  });
  console.log(JSON.stringify(await r.json()));`,
  confidential.clientId,
  confidential.clientSecret,
];

const steps: Step[] = [
  {
    title: "client credentials",
    config: {
      endpoint,
      authMode: "client_credentials",
      clientId: confidential.clientId,
      clientCredentialsSecret: confidential.clientSecret,
      scopes: ["api:read"],
    },
  },
  {
    title: "device flow (the person's step played by a script)",
    config: { endpoint, authMode: "DeviceFlow" },
    context: {
      onDevicePrompt(prompt) {
        console.log(
          `    visit ${prompt.verificationUri} and enter ${prompt.userCode}`,
        );
        approveDeviceLogin(prompt.verificationUri, prompt.userCode).catch((
          error,
        ) => console.error(`    the scripted person failed: ${error.message}`));
      },
    },
  },
  {
    title: "PKCE in the browser (the browser played by a script)",
    config: { endpoint, authMode: "pkce" },
    context: {
      async openBrowser(url) {
        await authorizeInBrowser(url);
      },
    },
  },
  {
    title: "external command",
    config: { endpoint, authMode: "external_process", command: tokenCommand },
  },
  {
    title: "plugin from deno.json auth.plugins",
    config: { endpoint, authMode: "gcp_id_token", audience: AUDIENCE },
  },
];

let failures = 0;
console.log(`  platform ${endpoint}, authorization server ${idp.issuer}\n`);
for (const step of steps) {
  failures += await run(step) ? 0 : 1;
}
const seconds = ((performance.now() - started) / 1000).toFixed(1);
console.log(
  failures === 0
    ? `\nAll ${steps.length} modes got a token the platform accepted (${seconds} s).`
    : `\n${failures} of ${steps.length} modes failed (${seconds} s).`,
);
Deno.exitCode = failures === 0 ? 0 : 1;

async function run(step: Step): Promise<boolean> {
  const events: AuthEvent[] = [];
  try {
    const authenticator = await getAuthenticator(
      step.config,
      new RemoteClientConfigStore(endpoint),
      {
        configFile: REPO_CONFIG,
        context: {
          credentialStore,
          onEvent: (event) => events.push(event),
          ...step.context,
        },
      },
    );
    const authFetch = createAuthFetch(authenticator, { origin: endpoint });
    const response = await authFetch(platform.apiUrl);
    const body = await response.json();
    const credentials = await authenticator.getCredentials();
    const ok = response.status === 200;
    console.log(
      `${ok ? "✔" : "✘"} ${step.title}: mode "${step.config.authMode}" ${
        resolvedFrom(events)
      }`,
    );
    console.log(
      `    token ${
        expiry(credentials.expiresAt)
      }; GET /api/v1/whoami -> ${response.status}` +
        (ok ? ` as "${body.subject}" from ${body.issuer}` : ""),
    );
    return ok;
  } catch (error) {
    console.log(`✘ ${step.title}: ${(error as Error).message}`);
    return false;
  }
}

function resolvedFrom(events: AuthEvent[]): string {
  const resolved = events.find((event) => event.type === "mode_resolved");
  if (resolved?.type !== "mode_resolved") return "";
  if (resolved.source === "config") {
    const url = new URL(resolved.url ?? "");
    return `discovered in deno.json -> ${
      url.pathname.split("/").slice(-2).join("/")
    }`;
  }
  return resolved.source === "builtin" ? "built in" : "registered";
}

function expiry(expiresAt: number | undefined): string {
  if (expiresAt === undefined) return "with no known expiry";
  const minutes = Math.round((expiresAt - Date.now()) / 60_000);
  return `expires in ${minutes} min`;
}
