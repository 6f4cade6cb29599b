import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { approveDeviceLogin } from "../support/browser.ts";
import { startIdp } from "../support/idp.ts";
import { startPlatform } from "../support/platform.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CLI = join(ROOT, "src/cli/main.ts");
const JWT = /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/;
const DENO_DIR = await denoDir();

async function denoDir(): Promise<string> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdout: "piped",
    stderr: "null",
  }).output();
  return JSON.parse(new TextDecoder().decode(output.stdout)).denoDir;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Starts the CLI in a home of its own (no ~/.flyte config, a private
 * credential cache), with the given FLYTE_* variables.
 */
function startCli(
  args: string[],
  home: string,
  env: Record<string, string>,
  cwd = home,
): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", join(ROOT, "deno.json"), CLI, ...args],
    cwd,
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "",
      HOME: home,
      XDG_CACHE_HOME: join(home, "cache"),
      DENO_DIR,
      NO_COLOR: "1",
      ...env,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

async function runCli(
  args: string[],
  home: string,
  env: Record<string, string> = {},
  cwd?: string,
): Promise<Run> {
  const output = await startCli(args, home, env, cwd).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** Reads a stream until a pattern shows up; returns its match. */
async function waitFor(
  reader: ReadableStreamDefaultReader<string>,
  pattern: RegExp,
): Promise<RegExpMatchArray> {
  let seen = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`the CLI ended before printing ${pattern}`);
    seen += value;
    const match = seen.match(pattern);
    if (match) return match;
  }
}

Deno.test("sesame CLI against the test authorization server", async (t) => {
  await using idp = await startIdp();
  await using platform = await startPlatform({
    discoveryUrl: idp.discoveryUrl,
    clientId: idp.clients.native.clientId,
    redirectUri: idp.redirectUri,
    scopes: ["openid", "offline_access", "api:read"],
  });
  const home = await Deno.makeTempDir({ prefix: "sesame-cli-" });
  await using _home = {
    [Symbol.asyncDispose]: () => Deno.remove(home, { recursive: true }),
  };
  const { clientId, clientSecret } = idp.clients.confidential;
  const clientCredentials = {
    FLYTE_PLATFORM_URL: platform.endpoint,
    FLYTE_CREDENTIALS_AUTH_MODE: "client_credentials",
    FLYTE_CREDENTIALS_CLIENT_ID: clientId,
    FLYTE_CREDENTIALS_CLIENT_SECRET: clientSecret,
    FLYTE_CREDENTIALS_SCOPES: "api:read",
  };

  await t.step("token prints the access token alone", async () => {
    const run = await runCli(["token"], home, clientCredentials);

    assert.equal(run.code, 0, run.stderr);
    assert.ok(JWT.test(run.stdout.trim()), "stdout is one JWT");
    assert.equal(run.stdout.trim().split("\n").length, 1);
  });

  await t.step(
    "token --header prints a header the platform accepts",
    async () => {
      const run = await runCli(["token", "--header"], home, clientCredentials);
      const [name, value] = run.stdout.trim().split(": ");
      const response = await fetch(platform.apiUrl, {
        headers: { [name!]: value! },
      });

      assert.equal(run.code, 0, run.stderr);
      assert.equal(name, "authorization");
      assert.equal(response.status, 200);
      await response.body?.cancel();
    },
  );

  await t.step("token --format json leaves the refresh token out", async () => {
    const run = await runCli(
      ["token", "--format", "json"],
      home,
      clientCredentials,
    );
    const json = JSON.parse(run.stdout);

    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(Object.keys(json).sort(), [
      "accessToken",
      "expiresAt",
      "headerKey",
    ]);
    assert.ok(Date.parse(json.expiresAt) > Date.now());
  });

  await t.step(
    "explain shows sources and state with the secret masked",
    async () => {
      const run = await runCli(["explain"], home, clientCredentials);
      const text = run.stdout + run.stderr;

      assert.equal(run.code, 0, run.stderr);
      assert.ok(!text.includes(clientSecret), "the secret is masked");
      assert.match(
        text,
        /clientCredentialsSecret = \*+ \(set\)\s+\(kind env, name FLYTE_CREDENTIALS_CLIENT_SECRET/,
      );
      assert.match(
        text,
        /"client_credentials": built in: ClientCredentialsAuthenticator/,
      );
      assert.match(text, /tokenEndpoint = http:\/\/127\.0\.0\.1:\d+\/token/);
      assert.match(
        text,
        /\|client_credentials\|sesame-confidential: access token \(\d+ characters, hidden\), expires/,
      );
      assert.ok(!/eyJ[\w-]+\.[\w-]+\./.test(text), "no token is shown");
    },
  );

  await t.step(
    "a refused client secret exits 1 with one line and no secret",
    async () => {
      const wrong = "wrong-secret-value";
      const run = await runCli(["token"], home, {
        ...clientCredentials,
        FLYTE_CREDENTIALS_CLIENT_SECRET: wrong,
        FLYTE_CREDENTIALS_CLIENT_ID: idp.clients.confidentialPost.clientId,
      });

      assert.equal(run.code, 1);
      assert.equal(run.stderr.trim().split("\n").length, 1);
      assert.match(run.stderr, /^sesame: .*invalid_client/);
      assert.ok(!run.stderr.includes(wrong));
    },
  );

  await t.step(
    "login runs the device flow once, then token needs no person",
    async () => {
      const device = {
        FLYTE_PLATFORM_URL: platform.endpoint,
        FLYTE_CREDENTIALS_AUTH_MODE: "deviceflow",
        FLYTE_CREDENTIALS_SCOPES: "openid,offline_access,api:read",
      };
      const child = startCli(["login"], home, device);
      const stderr = child.stderr.pipeThrough(new TextDecoderStream())
        .getReader();
      const [, uri, code] = await waitFor(
        stderr,
        /visit (\S+)\nand enter the code: (\S+)/,
      );
      await approveDeviceLogin(uri!, code);
      let rest = "";
      for (
        let read = await stderr.read();
        !read.done;
        read = await stderr.read()
      ) {
        rest += read.value;
      }
      const status = await child.status;
      await child.stdout.cancel();

      assert.equal(status.code, 0, rest);
      assert.match(rest, /Logged in to ".*" with auth mode "deviceflow"/);
      const token = await runCli(["token"], home, device);
      assert.equal(token.code, 0, token.stderr);
      assert.ok(JWT.test(token.stdout.trim()));
      assert.doesNotMatch(token.stderr, /enter the code/);
    },
  );

  await t.step("logout forgets what is stored for the endpoint", async () => {
    const env = { FLYTE_PLATFORM_URL: platform.endpoint };
    const first = await runCli(["logout"], home, env);
    const second = await runCli(["logout"], home, env);

    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /Forgot 2 stored credentials/);
    assert.match(second.stderr, /Nothing was stored/);
  });
});

Deno.test("sesame CLI exit codes and listings need no server", async (t) => {
  const home = await Deno.makeTempDir({ prefix: "sesame-cli-" });
  await using _home = {
    [Symbol.asyncDispose]: () => Deno.remove(home, { recursive: true }),
  };

  await t.step("an unknown command or flag exits 2", async () => {
    const command = await runCli(["bogus"], home);
    const flag = await runCli(["token", "--bogus"], home);

    assert.equal(command.code, 2);
    assert.match(command.stderr, /unknown command "bogus"/);
    assert.equal(flag.code, 2);
  });

  await t.step("an unknown auth mode is a config error: exit 2", async () => {
    const run = await runCli(["token", "--auth-mode", "nope"], home, {
      FLYTE_PLATFORM_URL: "127.0.0.1:9",
    });

    assert.equal(run.code, 2);
    assert.match(run.stderr, /^sesame: Unknown auth mode "nope"/);
    assert.doesNotMatch(run.stderr, /\n\s+at /, "no stack trace");
  });

  await t.step(
    "a malformed config file is a config error: exit 2",
    async () => {
      const path = join(home, "bad.yaml");
      await Deno.writeTextFile(path, "admin:\n  endpoint: [unclosed\n");
      const run = await runCli(["token", "--config", path], home);

      assert.equal(run.code, 2);
      assert.match(run.stderr, /bad\.yaml" at line \d/);
    },
  );

  await t.step(
    "modes lists built-in names and this repository's auth.plugins",
    async () => {
      const run = await runCli(["modes"], home, {}, ROOT);

      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /^\* standard\s+builtin\s+PkceAuthenticator/m);
      assert.match(
        run.stdout,
        /gcp_id_token\s+config\s+\.\/plugins\/gcp_id_token\.ts\s+file:\/\/.*plugins\/gcp_id_token\.ts/,
      );
    },
  );

  await t.step("--help on each command exits 0 with its usage", async () => {
    for (const command of ["token", "login", "logout", "modes", "explain"]) {
      const run = await runCli([command, "--help"], home);
      assert.equal(run.code, 0);
      assert.match(run.stdout, new RegExp(`^Usage: sesame ${command}`));
    }
  });
});
