"""Labels and the Omega-weighted, class-balanced logistic loss of RASNet / SiamFC.

Response map geometry: cell (r, c) of the S x S map (S = 17) looks at the search-crop
point `centre + ((c, r) - (S - 1) / 2) * stride` (stride 8), where `centre` = (255 - 1) / 2
is the crop's central pixel. A pair whose target sits at `centre + offset` in the search
crop (offset: the shift jitter, in crop pixels) has positives at the cells within
`radius` crop pixels of that point (radius / stride cells), negatives everywhere else.

Loss of one pair: sum over the map of w * log(1 + exp(-y * v)), y = +1 / -1, v the
response; w = 0.5 / #positives on positives and 0.5 / #negatives on negatives, so both
classes weigh half and w sums to 1 (a map of zeros scores log 2). The batch loss is the
Omega-weighted mean over pairs, Omega = exp(-|i - j| / sigma) (i, j: the frame indices of
template and search), so far-apart pairs count less.
"""
import torch
import torch.nn.functional as F

from .pairs import omega

__all__ = ["label_maps", "omega", "pair_losses", "balanced_logistic_loss"]


def label_maps(offsets, size=17, stride=8, radius=16):
    """0/1 labels and class-balanced weights, (B,1,S,S) each, for target offsets (B,2).

    offsets: (dx, dy) of the target from the search crop's centre, in crop pixels.
    """
    offsets = torch.as_tensor(offsets, dtype=torch.float32).reshape(-1, 2)
    grid = torch.arange(size, dtype=torch.float32, device=offsets.device)
    grid = (grid - (size - 1) / 2) * stride
    dx = grid.view(1, 1, size) - offsets[:, 0].view(-1, 1, 1)
    dy = grid.view(1, size, 1) - offsets[:, 1].view(-1, 1, 1)
    labels = ((dx * dx + dy * dy) <= radius * radius + 1e-6).float().unsqueeze(1)
    n_pos = labels.flatten(1).sum(1).view(-1, 1, 1, 1)
    n_neg = size * size - n_pos
    pos_w = torch.where(n_pos > 0, 0.5 / n_pos.clamp(min=1), torch.zeros_like(n_pos))
    neg_w = torch.where(n_neg > 0, 0.5 / n_neg.clamp(min=1), torch.zeros_like(n_neg))
    weights = labels * pos_w + (1 - labels) * neg_w
    # a map with one class only (no positive on the map): that class takes all the weight
    weights = weights / weights.flatten(1).sum(1).view(-1, 1, 1, 1)
    return labels, weights


def pair_losses(response, labels, weights):
    """Class-balanced logistic loss of each pair: (B,) from (B,1,S,S) maps."""
    # BCE with 0/1 targets is exactly log(1 + exp(-y v)) with y = 2 * label - 1
    elem = F.binary_cross_entropy_with_logits(response.float(), labels, reduction="none")
    return (elem * weights).flatten(1).sum(1)


def balanced_logistic_loss(response, labels, weights, pair_weights=None):
    """Omega-weighted mean over the batch of the per-pair balanced logistic loss."""
    per_pair = pair_losses(response, labels, weights)
    if pair_weights is None:
        return per_pair.mean()
    pair_weights = pair_weights.to(per_pair)
    return (pair_weights * per_pair).sum() / pair_weights.sum()
