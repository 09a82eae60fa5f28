import { installNativeCache } from './native-cache.js';

installNativeCache();
