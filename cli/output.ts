/** An expected failure: printed as one line, exit code non-zero, no stack. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printLine(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Prints rows as aligned columns for people; scripts use --json. */
export function printTable(rows: object[], columns: string[]): void {
  if (rows.length === 0) {
    printLine('(none)');
    return;
  }
  const cells = rows.map((r) => columns.map((c) => {
    const v = (r as Record<string, unknown>)[c];
    return v == null ? '' : String(v);
  }));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  printLine(columns.map((c, i) => c.toUpperCase().padEnd(widths[i]!)).join('  ').trimEnd());
  for (const row of cells) printLine(row.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd());
}
