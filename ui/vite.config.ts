/**
 * The dashboard's build: Preact with JSX compiled by vite's own transformer (no plugin), into ui/dist/
 * with hashed assets under /ui/assets/. `npm run build:ui` (and `npm ci`, through `prepare`) runs it.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/ui/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    assetsInlineLimit: 0,
    reportCompressedSize: true,
  },
  logLevel: 'warn',
});
