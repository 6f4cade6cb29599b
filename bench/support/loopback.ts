/**
 * Starts `./loopback_server.ts` in a child process and stops it.
 *
 * @module
 */

import { fileURLToPath } from "node:url";

const SCRIPT = fileURLToPath(new URL("./loopback_server.ts", import.meta.url));
const START_TIMEOUT_MS = 30_000;

/** A loopback server in another process. */
export interface LoopbackServer extends AsyncDisposable {
  /** Its base URL, `http://127.0.0.1:PORT`. */
  origin: string;
}

/**
 * Starts the server and waits until it listens.
 *
 * @returns The running server; dispose of it to stop it.
 */
export async function startLoopbackServer(): Promise<LoopbackServer> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--allow-net=127.0.0.1", SCRIPT],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const stop = async () => {
    await child.stdin.close().catch(() => {});
    await child.status;
  };
  try {
    const port = await readPort(child.stdout);
    return {
      origin: `http://127.0.0.1:${port}`,
      [Symbol.asyncDispose]: stop,
    };
  } catch (error) {
    child.kill();
    await stop();
    throw error;
  }
}

async function readPort(stdout: ReadableStream<Uint8Array>): Promise<number> {
  const reader = stdout.pipeThrough(new TextDecoderStream()).getReader();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error("The loopback server did not start")),
      START_TIMEOUT_MS,
    );
  });
  try {
    let text = "";
    // Bounded: the server prints one short line, or the timeout fires.
    while (!text.includes("\n") && text.length < 1000) {
      const { done, value } = await Promise.race([reader.read(), timeout]);
      if (done) throw new Error("The loopback server exited before listening");
      text += value;
    }
    return JSON.parse(text.split("\n")[0]!).port;
  } finally {
    clearTimeout(timer);
    // The server prints nothing more: close the pipe now.
    await reader.cancel().catch(() => {});
  }
}
