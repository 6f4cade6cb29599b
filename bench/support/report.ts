/**
 * The rows the peer comparison reports, and how they print.
 *
 * @module
 */

/** One measured figure. */
export interface Figure {
  /** What was measured. */
  name: string;
  /** The figure: a ratio, a count or a time. */
  value: string;
  /** The medians or counts it comes from. */
  detail?: string;
  /** The target, when the issue sets one. */
  target?: string;
  /** Whether the target was met; absent without a target. */
  met?: boolean;
}

/** What every section receives. */
export interface SectionOptions {
  /** Fewer iterations, for a quick look: figures are then less steady. */
  quick: boolean;
  /** Prints a progress line. */
  log(line: string): void;
}

/** A part of the comparison. */
export interface Section {
  /** Its name on the command line. */
  name: string;
  /** What it compares. */
  title: string;
  /** Measures and returns its figures. */
  run(options: SectionOptions): Promise<Figure[]>;
}

/**
 * Formats figures as a Markdown table.
 *
 * @param rows The figures with their section's name.
 * @returns The table.
 */
export function markdownTable(
  rows: readonly { section: string; figure: Figure }[],
): string {
  const lines = [
    "| Section | Figure | Value | Target | Met | From |",
    "| --- | --- | --- | --- | --- | --- |",
  ];
  for (const { section, figure } of rows) {
    const met = figure.met === undefined ? "" : figure.met ? "yes" : "MISSED";
    lines.push(
      `| ${section} | ${figure.name} | ${figure.value} | ${
        figure.target ?? ""
      } | ${met} | ${figure.detail ?? ""} |`,
    );
  }
  return lines.join("\n");
}
