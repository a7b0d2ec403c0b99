// picomatch ships no types; this is the small part the scanner uses.
declare module 'picomatch' {
  interface PicomatchOptions {
    basename?: boolean;
    dot?: boolean;
    nocase?: boolean;
  }
  type Matcher = (test: string) => boolean;
  function picomatch(glob: string | string[], options?: PicomatchOptions): Matcher;
  export default picomatch;
}
