import assert from "node:assert/strict";
import { join } from "node:path";
import { UnsecuredJWT } from "jose";
import {
  CommandAuthenticator,
  type CommandAuthenticatorOptions,
  CommandError,
  ConfigError,
  getProxyAuthenticator,
} from "../../mod.ts";

const NOW = Date.UTC(2030, 0, 1);

function run(command: string[], options: CommandAuthenticatorOptions = {}) {
  return new CommandAuthenticator(
    { command },
    undefined,
    { now: () => NOW },
    options,
  ).getCredentials();
}

/** Asserts a CommandError whose message matches and holds no secret. */
async function assertCommandError(
  promise: Promise<unknown>,
  message: RegExp,
  secret?: string,
): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof CommandError);
    assert.equal(error.code, "COMMAND_FAILED");
    assert.match(error.message, message);
    if (secret) assert.ok(!error.message.includes(secret), "no secret shown");
    return true;
  });
}

Deno.test("getCredentials() reads a bare token from stdout", async () => {
  const credentials = await run(["printf", "%s\n", "bare-token"]);

  assert.equal(credentials.accessToken, "bare-token");
  assert.equal(credentials.expiresAt, undefined);
});

Deno.test("getCredentials() reads OAuth-style JSON with expires_in", async () => {
  const json = JSON.stringify({ access_token: "json-token", expires_in: 120 });
  const credentials = await run(["printf", "%s", json]);

  assert.equal(credentials.accessToken, "json-token");
  assert.equal(credentials.expiresAt, NOW + 120_000);
});

Deno.test('getCredentials() reads {"token", "expiry"} JSON', async () => {
  const json = JSON.stringify({
    token: "t2",
    expiry: "2030-01-01T01:00:00Z",
  });
  const credentials = await run(["printf", "%s", json]);

  assert.equal(credentials.accessToken, "t2");
  assert.equal(credentials.expiresAt, NOW + 3600_000);
});

Deno.test("getCredentials() reads a Kubernetes ExecCredential", async () => {
  const json = JSON.stringify({
    apiVersion: "client.authentication.k8s.io/v1",
    kind: "ExecCredential",
    status: { token: "k8s-token", expirationTimestamp: "2030-01-01T00:30:00Z" },
  });
  const credentials = await run(["printf", "%s", json]);

  assert.equal(credentials.accessToken, "k8s-token");
  assert.equal(credentials.expiresAt, NOW + 1800_000);
});

Deno.test("getCredentials() takes the expiry from a JWT's exp when nothing else gives it", async () => {
  const exp = NOW / 1000 + 600;
  const jwt = new UnsecuredJWT({ sub: "me" }).setExpirationTime(exp).encode();
  const credentials = await run(["printf", "%s", jwt]);

  assert.equal(credentials.expiresAt, exp * 1000);
});

Deno.test("getCredentials() runs the command once per token lifetime", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const counter = join(dir, "runs");
    const authenticator = new CommandAuthenticator({
      command: ["sh", "-c", 'echo run >> "$1"; printf token', "sh", counter],
    });
    for (let i = 0; i < 5; i++) await authenticator.getCredentials();
    await Promise.all(
      Array.from({ length: 20 }, () => authenticator.getCredentials()),
    );

    const runs = (await Deno.readTextFile(counter)).trim().split("\n");
    assert.equal(runs.length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("getCredentials() passes arguments to the program without a shell", async () => {
  const literal = "$(id);`id`|$HOME&&*";
  const credentials = await run(["printf", "%s", literal]);

  assert.equal(credentials.accessToken, literal);
});

Deno.test("getCredentials() reports a non-zero exit with the end of stderr and never stdout", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const tokenFile = join(dir, "token");
    await Deno.writeTextFile(tokenFile, "leaked-token-value");
    const script =
      'cat "$1"; echo first >&2; echo "login required" >&2; exit 3';
    await assertCommandError(
      run(["sh", "-c", script, "sh", tokenFile]),
      /exited with code 3; its stderr ends with: first \| login required/,
      "leaked-token-value",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("getCredentials() hides values of secret-looking arguments in errors", async () => {
  await assertCommandError(
    run(["sh", "-c", "exit 1", "--client-secret=hunter2", "--token", "abc"]),
    /"sh -c exit 1 --client-secret=\*\*\* --token \*\*\*"/,
    "hunter2",
  );
});

Deno.test("getCredentials() times out a hanging command", async () => {
  await assertCommandError(
    run(["sleep", "30"], { timeoutMs: 200 }),
    /"sleep 30" timed out after 200 ms/,
  );
});

Deno.test("getCredentials() rejects empty, multi-word, oversized and tokenless output", async (t) => {
  await t.step("empty", async () => {
    await assertCommandError(run(["true"]), /printed nothing/);
  });
  await t.step("more than one word", async () => {
    await assertCommandError(
      run(["printf", "%s", "two words"]),
      /more than one word/,
    );
  });
  await t.step("over the output bound", async () => {
    await assertCommandError(
      run(["printf", "%s", "x".repeat(100)], { maxOutputBytes: 10 }),
      /printed more than 10 bytes/,
    );
  });
  await t.step("JSON without a token", async () => {
    await assertCommandError(
      run(["printf", "%s", '{"expires_in": 5}']),
      /JSON without a token/,
    );
  });
  await t.step("broken JSON", async () => {
    await assertCommandError(
      run(["printf", "%s", '{"token": '], { maxOutputBytes: 1000 }),
      /does not parse/,
    );
  });
});

Deno.test("getCredentials() reports a program that does not exist", async () => {
  await assertCommandError(
    run(["/nonexistent/sesame-token-helper"]),
    /Cannot run command .*not found/,
  );
});

Deno.test("CommandAuthenticator throws ConfigError without a command", () => {
  for (const command of [undefined, [], [""], [1]]) {
    assert.throws(
      () => new CommandAuthenticator({ command: command as string[] }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /no command is set/);
        return true;
      },
    );
  }
});

Deno.test("getProxyAuthenticator() runs proxyCommand for proxy-authorization", async () => {
  const proxy = getProxyAuthenticator({
    command: ["printf", "main"],
    proxyCommand: ["printf", "proxy-token"],
  });

  assert.equal(proxy?.headerKey, "proxy-authorization");
  assert.equal((await proxy?.getCredentials())?.accessToken, "proxy-token");
  assert.equal(getProxyAuthenticator({ command: ["x"] }), undefined);
});
