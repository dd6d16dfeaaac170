"""Priority places: where violence clusters, where it is emerging, and which places to pick.

One module per part, each pure (no I/O) and tested:

* ``weights``: who is whose neighbour (queen and rook contiguity, k nearest neighbours,
  distance band), with islands and disconnected parts handled and reported;
* ``local_statistics``: local Getis-Ord Gi*, local Moran's I and global Moran's I with
  conditional permutation inference, equal to PySAL ``esda`` on the same permutations;
* ``emerging_hotspots``: a space-time cube, space-time Gi*, the Mann-Kendall trend of each
  place's Gi* series and ArcGIS Pro's seventeen Emerging Hot Spot categories;
* ``grid``: square or hexagonal cells over street-level points, for areas with no boundaries;
* ``priority_rules``: the published, configurable selection rule, plain-English explanations
  built from each place's own numbers, and clusters of contiguous selected places.
"""
