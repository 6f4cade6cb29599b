import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const JWT = /eyJ[\w-]+\.[\w-]+\.[\w-]+/;

Deno.test("deno task demo gets a token the platform accepts in every mode, and prints none", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["task", "demo"],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout) +
    new TextDecoder().decode(output.stderr);

  assert.equal(
    output.code,
    0,
    `the demo failed:\n${text.replace(JWT, "<jwt>")}`,
  );
  assert.equal(text.match(/^✔ /gm)?.length, 5);
  assert.match(text, /All 5 modes got a token the platform accepted/);
  assert.ok(!JWT.test(text), "the demo printed a token");
});
