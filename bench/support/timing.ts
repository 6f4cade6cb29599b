/**
 * How the peer comparison measures: variants run interleaved, so that a
 * slow moment of a shared machine hits every variant alike, and each
 * figure is a ratio of medians taken in the same run.
 *
 * @module
 */

/** Something to time once; it must finish on its own. */
export type Task = () => Promise<unknown>;

/** The times of one variant, in milliseconds. */
export interface Samples {
  name: string;
  times: number[];
}

/**
 * Returns the median of some numbers.
 *
 * @param values The numbers; at least one.
 * @returns The median.
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) {
    throw new RangeError("No values to take a median of");
  }
  const sorted = values.toSorted((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2
    ? sorted[middle]!
    : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * Times each task `iterations` times after `warmup` untimed runs, taking
 * them in turn and rotating which goes first at every iteration.
 *
 * @param tasks The variants, by name.
 * @param iterations How many timed runs of each.
 * @param warmup How many untimed runs of each first.
 * @returns The times of each variant, in the order given.
 */
export async function interleave(
  tasks: Record<string, Task>,
  iterations: number,
  warmup = 0,
): Promise<Samples[]> {
  const entries = Object.entries(tasks);
  const samples = entries.map(([name]) => ({ name, times: [] as number[] }));
  for (let run = 0; run < warmup + iterations; run++) {
    for (let turn = 0; turn < entries.length; turn++) {
      const index = (run + turn) % entries.length;
      const start = performance.now();
      await entries[index]![1]();
      const elapsed = performance.now() - start;
      if (run >= warmup) samples[index]!.times.push(elapsed);
    }
  }
  return samples;
}

/**
 * Runs {@linkcode interleave} in several rounds and gives the ratio of two
 * variants' medians in each, to show how much the ratio moves.
 *
 * @param tasks The variants, by name.
 * @param options The rounds, the runs of each round, the warm-up runs, and
 * the two variants of the ratio.
 * @returns The medians of every variant over all rounds, and the ratio
 * `numerator / denominator` of each round.
 */
export async function ratioRounds(
  tasks: Record<string, Task>,
  options: {
    rounds: number;
    iterations: number;
    warmup: number;
    numerator: string;
    denominator: string;
  },
): Promise<{ medians: Record<string, number>; ratios: number[] }> {
  const all: Record<string, number[]> = {};
  const ratios: number[] = [];
  for (let round = 0; round < options.rounds; round++) {
    const samples = await interleave(
      tasks,
      options.iterations,
      round === 0 ? options.warmup : 0,
    );
    const medians: Record<string, number> = {};
    for (const { name, times } of samples) {
      medians[name] = median(times);
      (all[name] ??= []).push(...times);
    }
    ratios.push(medians[options.numerator]! / medians[options.denominator]!);
  }
  const medians: Record<string, number> = {};
  for (const [name, times] of Object.entries(all)) {
    medians[name] = median(times);
  }
  return { medians, ratios };
}

/**
 * Formats a duration given in milliseconds with a unit that suits it.
 *
 * @param ms The duration.
 * @returns Such as "412 µs" or "51.3 ms".
 */
export function duration(ms: number): string {
  if (ms < 1) return `${(ms * 1000).toPrecision(3)} µs`;
  if (ms < 1000) return `${ms.toPrecision(3)} ms`;
  return `${(ms / 1000).toPrecision(3)} s`;
}

/**
 * Formats a ratio.
 *
 * @param value The ratio.
 * @returns Such as "0.43×".
 */
export function times(value: number): string {
  return `${value.toFixed(value < 10 ? 2 : 1)}×`;
}

/**
 * Formats the spread of per-round ratios.
 *
 * @param ratios The ratios.
 * @returns Such as "0.41–0.46× over 3 rounds".
 */
export function spread(ratios: readonly number[]): string {
  const low = Math.min(...ratios).toFixed(2);
  const high = Math.max(...ratios).toFixed(2);
  return `${low}–${high}× over ${ratios.length} rounds`;
}

const JWT_LIKE = /[\w-]{8,}\.[\w-]{8,}\.[\w-]*/g;
const PEM = /-----BEGIN [A-Z ]+-----[\s\S]*?-----END [A-Z ]+-----/g;

/**
 * Hides anything that looks like a token or a key in a child's output
 * before it is shown, and keeps it short.
 *
 * @param text The output.
 * @returns The text, safe to print.
 */
export function redact(text: string): string {
  return text.replace(PEM, "[key]").replace(JWT_LIKE, "[token]")
    .replace(/\p{Cc}\[[0-9;]*m/gu, "").trim().slice(0, 800);
}
