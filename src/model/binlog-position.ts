/** A place in the source's binlog. Positions are byte offsets inside one file. */
export interface BinlogPosition {
  /** e.g. `mysql-bin.000078` */
  readonly file: string;
  /** byte offset inside `file` */
  readonly position: number;
}

/** `mysql-bin.000078:72469`: the one form positions take in logs and messages. */
export function formatBinlogPosition(p: BinlogPosition): string {
  return `${p.file}:${p.position}`;
}

/** The numeric suffix of a binlog file name: `mysql-bin.000078` -> 78. */
export function binlogFileNumber(file: string): number {
  const m = /\.(\d+)$/.exec(file);
  if (!m) throw new Error(`binlog file name without a numeric suffix: ${file}`);
  return Number(m[1]);
}

/** Compares two positions of the same server: negative when a is earlier. */
export function compareBinlogPositions(a: BinlogPosition, b: BinlogPosition): number {
  const fa = binlogFileNumber(a.file);
  const fb = binlogFileNumber(b.file);
  return fa !== fb ? fa - fb : a.position - b.position;
}
