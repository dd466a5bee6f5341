namespace Nixery.Build.Layers;

/// <summary>
/// Immediate dominators of a graph rooted at node 0, by the iterative algorithm of
/// Cooper, Harvey and Kennedy ("A Simple, Fast Dominance Algorithm", 2001): fast and exact
/// for graphs of the size of a Nix closure.
/// </summary>
internal static class Dominators
{
    /// <summary>
    /// <c>idom[n]</c> for every node reachable from 0 (<c>idom[0] = 0</c>); -1 for unreachable nodes.
    /// </summary>
    public static int[] Compute(IReadOnlyList<List<int>> successors)
    {
        var count = successors.Count;
        var order = ReversePostorder(successors);
        var position = new int[count];
        Array.Fill(position, -1);
        for (var i = 0; i < order.Count; i++)
        {
            position[order[i]] = i;
        }

        var predecessors = new List<int>[count];
        for (var i = 0; i < count; i++)
        {
            predecessors[i] = [];
        }

        for (var from = 0; from < count; from++)
        {
            if (position[from] < 0)
            {
                continue;
            }

            foreach (var to in successors[from])
            {
                predecessors[to].Add(from);
            }
        }

        var idom = new int[count];
        Array.Fill(idom, -1);
        idom[0] = 0;
        var changed = true;
        while (changed)
        {
            changed = false;
            foreach (var node in order.Skip(1))
            {
                var newIdom = -1;
                foreach (var predecessor in predecessors[node])
                {
                    if (idom[predecessor] < 0)
                    {
                        continue;
                    }

                    newIdom = newIdom < 0 ? predecessor : Intersect(predecessor, newIdom);
                }

                if (idom[node] != newIdom)
                {
                    idom[node] = newIdom;
                    changed = true;
                }
            }
        }

        return idom;

        int Intersect(int a, int b)
        {
            while (a != b)
            {
                while (position[a] > position[b])
                {
                    a = idom[a];
                }

                while (position[b] > position[a])
                {
                    b = idom[b];
                }
            }

            return a;
        }
    }

    public static bool[] Reachable(IReadOnlyList<List<int>> successors)
    {
        var reachable = new bool[successors.Count];
        var pending = new Stack<int>();
        pending.Push(0);
        reachable[0] = true;
        while (pending.Count > 0)
        {
            foreach (var next in successors[pending.Pop()])
            {
                if (!reachable[next])
                {
                    reachable[next] = true;
                    pending.Push(next);
                }
            }
        }

        return reachable;
    }

    private static List<int> ReversePostorder(IReadOnlyList<List<int>> successors)
    {
        var visited = new bool[successors.Count];
        var postorder = new List<int>(successors.Count);
        var stack = new Stack<(int Node, int Next)>();
        stack.Push((0, 0));
        visited[0] = true;
        while (stack.Count > 0)
        {
            var (node, next) = stack.Pop();
            if (next < successors[node].Count)
            {
                stack.Push((node, next + 1));
                var child = successors[node][next];
                if (!visited[child])
                {
                    visited[child] = true;
                    stack.Push((child, 0));
                }
            }
            else
            {
                postorder.Add(node);
            }
        }

        postorder.Reverse();
        return postorder;
    }
}
