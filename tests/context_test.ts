import assert from "node:assert/strict";
import { join } from "node:path";
import {
  AuthError,
  BUILTIN_AUTH_MODES,
  ConfigError,
  createAuthContext,
  createPlatformFetch,
  DEFAULT_AUTH_MODE,
  FileCredentialStore,
  isBuiltinAuthMode,
} from "../mod.ts";

/** Runs openssl, failing the test with its stderr when it fails. */
async function openssl(args: string[], cwd: string): Promise<void> {
  const output = await new Deno.Command("openssl", {
    args,
    cwd,
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(
    output.code,
    0,
    `openssl ${args[0]}: ${new TextDecoder().decode(output.stderr)}`,
  );
}

/** A CA and a certificate it signed for 127.0.0.1, in a temporary folder. */
async function certificates(dir: string) {
  await openssl([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "1",
    "-subj",
    "/CN=sesame test CA",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ], dir);
  await openssl([
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-subj",
    "/CN=127.0.0.1",
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
  ], dir);
  await Deno.writeTextFile(
    join(dir, "server.ext"),
    "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
  );
  await openssl([
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    "1",
    "-extfile",
    "server.ext",
    "-out",
    "server.pem",
  ], dir);
  return {
    ca: join(dir, "ca.pem"),
    cert: await Deno.readTextFile(join(dir, "server.pem")),
    key: await Deno.readTextFile(join(dir, "server.key")),
  };
}

Deno.test("createPlatformFetch() trusts the CA file of caCertFilePath", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sesame-ca-" });
  try {
    const { ca, cert, key } = await certificates(dir);
    await using server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, cert, key, onListen() {} },
      () => new Response("trusted"),
    );
    const url = `https://127.0.0.1:${server.addr.port}/`;

    await assert.rejects(fetch(url), "the CA is not trusted by default");
    using platformFetch = createPlatformFetch({ caCertFilePath: ca });
    const response = await platformFetch(url);
    assert.equal(await response.text(), "trusted");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("createPlatformFetch() sends requests through httpProxyUrl", async () => {
  const seen: string[] = [];
  await using proxy = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (request) => {
      seen.push(request.url);
      return new Response("from the proxy");
    },
  );
  using platformFetch = createPlatformFetch({
    httpProxyUrl: `http://127.0.0.1:${proxy.addr.port}`,
  });

  const response = await platformFetch("http://flyte.invalid/api/v1/projects");

  assert.equal(await response.text(), "from the proxy");
  assert.deepEqual(seen, ["http://flyte.invalid/api/v1/projects"]);
});

Deno.test("createPlatformFetch() reports an unreadable CA file as a ConfigError", async () => {
  using platformFetch = createPlatformFetch({
    caCertFilePath: "/nonexistent/sesame-ca.pem",
  });

  await assert.rejects(platformFetch("https://127.0.0.1:9/"), (error) => {
    assert.ok(error instanceof ConfigError);
    assert.match(
      error.message,
      /"\/nonexistent\/sesame-ca\.pem" \(caCertFilePath\)/,
    );
    return true;
  });
});

Deno.test("createAuthContext() fills what the overrides leave out", async () => {
  const events: unknown[] = [];
  const context = createAuthContext({}, {
    onEvent: (event) => events.push(event),
    now: () => 42,
  });

  assert.equal(context.now(), 42);
  assert.ok(context.credentialStore instanceof FileCredentialStore);
  context.onEvent({ type: "cache_hit", authenticator: "Test" });
  assert.equal(events.length, 1);
  await assert.rejects(
    (async () =>
      await context.onDevicePrompt({
        kind: "device",
        verificationUri: "https://idp.example.com/device",
        userCode: "ABCD-EFGH",
        expiresAt: 0,
      }))(),
    (error) => {
      assert.ok(error instanceof AuthError);
      assert.equal(error.code, "INTERACTION_REQUIRED");
      return true;
    },
  );
});

Deno.test("BUILTIN_AUTH_MODES holds flytekit's names and no others", () => {
  assert.deepEqual([...BUILTIN_AUTH_MODES.keys()].sort(), [
    "basic",
    "client_credentials",
    "clientsecret",
    "deviceflow",
    "external_process",
    "externalcommand",
    "pkce",
    "standard",
  ]);
  assert.ok(isBuiltinAuthMode("ExternalCommand"));
  assert.ok(!isBuiltinAuthMode("gcp_id_token"));
  assert.ok(isBuiltinAuthMode(DEFAULT_AUTH_MODE));
});
