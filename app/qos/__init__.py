"""Traffic control: rate limits, circuit breakers, the backend response cache."""
