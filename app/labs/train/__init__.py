"""The Train lab: datasets, the networks it trains and the runs that train them."""
