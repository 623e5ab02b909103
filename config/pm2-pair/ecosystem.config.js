// The PM2 original: an API with 4 instances and a worker, development by default,
// production with `pm2 start ecosystem.config.js --env production`.
// ecosystem.toml in this folder is the same file ported to corral's native format.
module.exports = {
  apps: [
    {
      name: "api",
      script: "api.py",
      instances: 4,
      exec_mode: "fork",
      max_memory_restart: "3G",
      max_restarts: 10,
      min_uptime: "5s",
      kill_timeout: 5000,
      watch: ["api.py"],
      ignore_watch: ["logs", "*.pyc"],
      watch_delay: 500,
      out_file: "logs/api-out.log",
      error_file: "logs/api-error.log",
      time: true,
      env: {
        APP_ENV: "development",
        PORT: 3000,
        DEBUG: true,
      },
      env_production: {
        APP_ENV: "production",
        PORT: 8080,
        DEBUG: false,
      },
    },
    {
      name: "worker",
      script: "worker.py",
      autorestart: true,
      restart_delay: 2000,
      kill_signal: "SIGTERM",
      cron_restart: "0 4 * * *",
      env: {
        QUEUE_URL: "redis://localhost:6379/0",
      },
      env_production: {
        QUEUE_URL: "redis://queue.internal:6379/0",
      },
    },
  ],

  deploy: {
    production: {
      user: "deploy",
      host: ["app1.example.com", "app2.example.com"],
      ref: "origin/main",
      repo: "git@github.com:example/shop.git",
      path: "/srv/shop",
      "post-deploy": "corral startOrRestart ecosystem.toml --env production",
      env: {
        LOG_LEVEL: "info",
      },
    },
  },
};
