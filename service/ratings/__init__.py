"""Ratings: votes and reviews' ratings with their aggregates, the summary readers see,
editorial scores, and rating JSON-LD."""
