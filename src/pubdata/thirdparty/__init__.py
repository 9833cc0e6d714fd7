"""第三方专业服务机构 (REG-21, REG-22, REG-44): providers and their service kinds, declared relations between
organisations, engagements by registration subjects with the 回避 check, and the reports they file."""
