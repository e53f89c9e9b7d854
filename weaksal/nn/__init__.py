"""Building blocks shared by the methods: heads, pooling, losses."""
