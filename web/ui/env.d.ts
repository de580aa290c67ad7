// esbuild's `text` loader turns an imported .css file into its contents (see web/ui-build.ts).
declare module '*.css' {
  const text: string;
  export default text;
}
