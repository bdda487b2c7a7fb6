/**
 * The part of seek-bzip (a pure-JavaScript bzip2 decoder, https://github.com/cscott/seek-bzip)
 * that oval.ts uses; the package ships no types. `decode` writes each inflated byte to the
 * output stream, which lets the caller refuse a file past its size limit as it inflates.
 */
declare module 'seek-bzip' {
  interface BunzipOutput {
    writeByte(byte: number): void;
  }
  const Bunzip: {
    /** Inflates `input`; `multistream` reads concatenated bzip2 streams (pbzip2's output). */
    decode(input: Uint8Array, output: BunzipOutput, multistream?: boolean): void;
  };
  export = Bunzip;
}
