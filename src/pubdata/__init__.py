"""pubdata: 公共数据资源登记与授权运营平台 (Gansu public data registration and authorized operation)."""

__version__ = "0.1.0"
