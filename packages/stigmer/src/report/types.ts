/** One file, module, library, asset or symbol inside a binary, and what it weighs there. */
export interface ReportItem {
  /** Its name inside the binary: a module name, an archive path, a bundled source path. */
  path: string;
  /** Bytes it takes in the binary (compressed where the binary compresses it). */
  size: number;
  /** Bytes once unpacked, where that differs (PyInstaller compresses; a Node bundle does not). */
  uncompressedSize?: number;
  /** 'module', 'shared library', 'data', 'js', 'asset', 'runtime', 'bootloader', ... */
  kind: string;
  /** The distribution, npm package, Go module or runtime it belongs to. */
  package: string;
  packageKind: PackageKind;
  version?: string | null;
}

/** 'runtime': the interpreter or engine itself; 'service': the service's own and local code; 'system': OS libraries. */
export type PackageKind = 'runtime' | 'distribution' | 'npm' | 'go-module' | 'service' | 'system' | 'asset';

/** What a runtime measures in one binary it built. */
export interface RuntimeReport {
  items: ReportItem[];
  /** The bytes the items are measured against: the binary's size, or (a one-folder archive) its unpacked size. */
  measuredSize: number;
  /** What measuredSize is: "the executable", "the unpacked folder". */
  basis: string;
  /** What the bytes no item accounts for are (archive headers and tables, padding, ...). */
  overheadDescription: string;
}

export interface ReportPackage {
  name: string;
  kind: PackageKind;
  version?: string;
  size: number;
  uncompressedSize: number;
  files: Array<Omit<ReportItem, 'package' | 'packageKind' | 'version'>>;
}

/** dist/<name>.report.json. */
export interface BinaryReport {
  schema: 1;
  name: string;
  /** The binary's file name in dist/. */
  binary: string;
  runtime: string;
  version: string;
  os: string;
  arch: string;
  layout: string;
  /** Size of the binary file. */
  fileSize: number;
  /** The bytes the packages add up to with the overhead (see RuntimeReport.measuredSize). */
  measuredSize: number;
  basis: string;
  /** Sum of the packages. */
  itemsSize: number;
  overhead: { size: number; description: string };
  /** Largest first. */
  packages: ReportPackage[];
  builtBy: string;
}
