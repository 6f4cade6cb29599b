import { renderUnicodeCompact } from "uqr";
import type { AuthEvent, DevicePrompt } from "../context.ts";

const encoder = new TextEncoder();
const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/** Where the CLI writes: stdout for results, stderr for everything else. */
export interface CliOutput {
  /** Writes a line of the command's result. */
  out(line: string): void;
  /** Writes a line for the person. */
  err(line: string): void;
  /** Whether stderr is a terminal, for the QR code and the spinner. */
  interactive: boolean;
}

/**
 * The process's own stdout and stderr.
 *
 * @returns The output.
 */
export function processOutput(): CliOutput {
  return {
    out: (line) => writeAll(Deno.stdout, line + "\n"),
    err: (line) => writeAll(Deno.stderr, line + "\n"),
    interactive: Deno.stderr.isTerminal(),
  };
}

function writeAll(stream: { writeSync(p: Uint8Array): number }, text: string) {
  const bytes = encoder.encode(text);
  for (let written = 0; written < bytes.length;) {
    written += stream.writeSync(bytes.subarray(written));
  }
}

/**
 * Shows a log-in prompt on stderr: the URL and code, and on a terminal a QR
 * code of the URL and a spinner until `stop()`.
 */
export class PromptDisplay {
  readonly #output: CliOutput;
  #timer?: ReturnType<typeof setInterval>;

  constructor(output: CliOutput) {
    this.#output = output;
  }

  /**
   * Shows the prompt.
   *
   * @param prompt The page and the code.
   */
  show(prompt: DevicePrompt): void {
    const { err, interactive } = this.#output;
    const url = prompt.verificationUriComplete ?? prompt.verificationUri;
    const minutes = Math.max(
      1,
      Math.round((prompt.expiresAt - Date.now()) / 60_000),
    );
    if (prompt.kind === "browser") {
      err("Open this URL in a browser to log in:");
      err(`  ${url}`);
    } else {
      err(`To log in, visit ${prompt.verificationUri}`);
      err(`and enter the code: ${prompt.userCode}`);
      if (prompt.verificationUriComplete) err(`or open ${url}`);
    }
    err(`(expires in about ${minutes} min)`);
    if (interactive) {
      err(renderUnicodeCompact(url));
      this.#spin();
    }
  }

  #spin(): void {
    let frame = 0;
    this.#timer = setInterval(() => {
      const symbol = SPINNER[frame++ % SPINNER.length];
      writeAll(Deno.stderr, `\r${symbol} Waiting for the log-in...`);
    }, 100);
  }

  /** Stops the spinner, if any. */
  stop(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    writeAll(Deno.stderr, "\r\x1b[K");
  }
}

/**
 * Formats an event for `--verbose`; events never carry secrets.
 *
 * @param event The event.
 * @returns One line.
 */
export function formatEvent(event: AuthEvent): string {
  const { type, ...rest } = event;
  const fields = Object.entries(rest).map(([key, value]) =>
    `${key}=${
      key === "expiresAt" && typeof value === "number"
        ? new Date(value).toISOString()
        : value
    }`
  );
  return `[sesame] ${type} ${fields.join(" ")}`;
}
