"""公共数据产品和服务 (OPS-3, OPS-27..32, OPS-34): products built from approved exports, their registration,
offers, government-guided pricing, subscriptions with API keys, the metered gateway, accounting and disclosure."""
