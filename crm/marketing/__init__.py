"""Marketing: saved customer segments (rules → one SQL statement) and the campaigns that target them."""
