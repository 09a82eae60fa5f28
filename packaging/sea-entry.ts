/**
 * Entry point of the single executable (bundled by scripts/build-binary.mjs).
 * The native-addon cache hook must be in place before any module that loads an
 * addon is evaluated; ES modules evaluate in import order, so it comes first.
 */
import './native-cache-install.js';
import '../cli/main.js';
