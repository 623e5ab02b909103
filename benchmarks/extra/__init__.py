"""One-off side-by-side measurements that do not fit the pm2 harness's adapters."""
